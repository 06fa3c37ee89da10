# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy -o y.npy --state ddp.npz --state-prefix bn1. --stats-out ddp.npz
bnorm convert ddp.npz --tensor module.bn1.num_batches_tracked n.json
cat n.json
bnorm convert ddp.npz --tensor module.bn1.running_var v.json
cat v.json
bnorm apply x.npy -o y.npy --state lightning.safetensors --state-prefix bn1 --stats-out lightning.safetensors
bnorm convert lightning.safetensors --tensor model.bn1.num_batches_tracked n.json
cat n.json
bnorm apply x.npy -o y.npy --state stacked.npz --state-prefix bn1. --mode eval
