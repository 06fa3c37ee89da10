// SPDX-License-Identifier: Apache-2.0
// NumPy's .npz: a ZIP archive of .npy members ("x.npy" holds the tensor "x"), stored by
// np.savez and deflated by np.savez_compressed.
#pragma once

#include <memory>
#include <vector>

#include "byte_source.hpp"
#include "file_io.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// Validates the archive (zip_archive), that every member is a .npy file, and that no member's
/// name is another's plus ".npy" (np.load would read member "a.npy" for the tensor "a.npy" of
/// member "a.npy.npy": it looks keys up as member names first).  A member's
/// .npy header is checked when the member is opened: its data size must be exactly what the
/// member holds after the header.  A stored member of a regular file is read where it lies
/// (its CRC-32 checked by one read first); a deflated member is inflated into memory.
std::unique_ptr<tensor_archive> open_npz(std::shared_ptr<const byte_source> bytes);

/// Refuses (data_error naming `out`) a tensor name that makes a member name longer than a ZIP
/// header holds or one that zip_name_problem refuses ("../x", "/x", "a\\b", ...); sinks call
/// it before any work, write_npz before writing anything.
void check_npz_name(const output_file& out, const std::string& tensor_name);

/// Writes `tensors` as np.savez does (stored members "<name>.npy" with NumPy's headers).  The
/// tensors' bytes are written from where they are, not copied.  Throws data_error, before
/// writing anything, for a name check_npz_name refuses and for two tensors "a" and "a.npy",
/// whose members open_npz refuses (np.savez writes them).
void write_npz(output_file& out, std::vector<named_tensor> tensors);

}  // namespace bnorm
