bnorm
