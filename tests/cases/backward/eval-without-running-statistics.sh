bnorm backward x.json --grad-output dy.json -o dx.json --mode eval
