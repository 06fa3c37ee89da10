bnorm help
