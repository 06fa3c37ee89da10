# SPDX-License-Identifier: Apache-2.0
# Per-sample statistics are no batch's: --batch-stats refuses them.
printf '{"estimator": "per_sample", "samples": 4, "mean": [0], "std": [1], "std_unbiased": [1]}' > ps.json
cp samples/batch.npy second.npy
bnorm apply samples/batch.npy second.npy -o out/ --batch-stats ps.json
