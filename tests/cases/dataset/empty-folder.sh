bnorm stats empty
