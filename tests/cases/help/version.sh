bnorm --version
