// Fuzz target for the segment scanner (persist/folder.h): never crashes, hangs or reads out of
// bounds, and its verdict is consistent: every record it reports is good and encodes back to the
// bytes it came from, back to back from the header to good_end; a clean end is the end of the
// input; a torn or damaged one is before it and says why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "persist/folder.h"
#include "persist/record.h"
#include "persist/segment.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ferrite::persist;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // The number the file name would give: the header's own (when there is one), so the records
  // are reached; the first byte's low bit asks for another one, so a mismatch is covered too.
  std::uint64_t seq = 1;
  if (size >= kSegmentHeader) std::memcpy(&seq, data + 16, 8);
  if (size > 0 && (data[0] & 1) != 0 && size >= kSegmentHeader) seq += 1;
  std::uint64_t next = kSegmentHeader, seen = 0, flushes = 0;
  const SegmentScan s = scan_segment_bytes(in, seq, [&](const Record& r, std::uint64_t offset) {
    if (offset != next) std::abort();  // back to back
    std::string again(record_size(r), '\0');
    if (encode(r, again.data()) != again.size() || in.substr(offset, again.size()) != again) std::abort();
    next += again.size();
    ++seen;
    if (r.type == RecordType::kFlush) ++flushes;
  });
  if (s.records != seen || s.flushes.size() != flushes || s.file_bytes != size) std::abort();
  if (seen > 0 && s.good_end != next) std::abort();
  if (s.good_end > size) std::abort();
  if (s.end == SegmentEnd::kClean && s.good_end != size) std::abort();
  if (s.end != SegmentEnd::kClean && (s.good_end == size && size >= kSegmentHeader)) std::abort();
  if (s.end != SegmentEnd::kClean && s.reason.empty()) std::abort();
  return 0;
}
