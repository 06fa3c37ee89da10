bnorm apply - --input-format parquet -o y.npy < samples/batch.npy
