bnorm backward x.json --grad-output dy-wide.json -o dx.json
