# SPDX-License-Identifier: Apache-2.0
bnorm merge nothing.json -o merged.json
