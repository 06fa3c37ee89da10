bnorm apply
