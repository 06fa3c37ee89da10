# SPDX-License-Identifier: Apache-2.0
bnorm compare samples/state.json samples/state.json
