# SPDX-License-Identifier: Apache-2.0
bnorm apply - --input-format parquet -o y.npy < samples/batch.npy
