printf 'hello, world' | bnorm stats -
