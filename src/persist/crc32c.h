// CRC32C (Castagnoli, polynomial 0x1EDC6F41 reflected as 0x82F63B78), the checksum of every
// persistence record and block: the SSE4.2 crc32 instruction where the CPU has it (checked once
// at start-up), else a slicing-by-8 table. Same results as RFC 3720's CRC32C (iSCSI), as
// ext4's metadata checksums and as Google's crc32c library: crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferrite::persist {

// Continues a CRC over more bytes: crc32c_extend(crc32c_extend(0, a), b) == crc32c(a + b).
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept;

inline std::uint32_t crc32c(const void* data, std::size_t n) noexcept { return crc32c_extend(0, data, n); }
inline std::uint32_t crc32c(std::string_view s) noexcept { return crc32c_extend(0, s.data(), s.size()); }

// True when the hardware instruction is in use (for tests and the start-up log).
bool crc32c_hardware() noexcept;
// The table version, whatever the CPU (tests compare the two).
std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t n) noexcept;

}  // namespace ferrite::persist
