# SPDX-License-Identifier: Apache-2.0
# Eleven names: ten are listed, then how many more.
bnorm stats samples/model.safetensors --format csv
