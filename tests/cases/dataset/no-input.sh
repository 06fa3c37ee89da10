bnorm stats
