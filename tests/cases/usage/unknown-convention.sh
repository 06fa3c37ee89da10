bnorm apply samples/batch.npy -o y.npy --convention caffe2
