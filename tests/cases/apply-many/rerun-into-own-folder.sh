# A folder of inputs that holds -o DIR/ is walked without it: a second run (under any spelling
# of DIR) reads the inputs again, not the first run's outputs.
mkdir w
cp samples/batch.npy w/a.npy
cp samples/batch.npy w/b.npy
bnorm apply w -o w/out/
bnorm apply w -o w/out/
bnorm apply ./w -o w//out
ls w w/out
