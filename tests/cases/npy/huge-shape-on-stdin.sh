# From a pipe the size is unknown: refused once the bytes run out, not by allocating first.
cat huge-shape.npy | bnorm apply - --input-format npy -o y.npy
