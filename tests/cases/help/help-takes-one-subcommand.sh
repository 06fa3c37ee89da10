bnorm help apply stats
