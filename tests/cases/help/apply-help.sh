bnorm apply --help
