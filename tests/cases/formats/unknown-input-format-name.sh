bnorm apply - --input-format csv -o y.npy < samples/batch.npy
