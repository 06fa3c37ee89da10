bnorm layers mismatch.npz --format table
