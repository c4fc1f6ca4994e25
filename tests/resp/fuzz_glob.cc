// Fuzz target for the glob matcher (proto/resp glob_match: KEYS, SCAN MATCH, CONFIG GET,
// COMMAND LIST): the input is a pattern, a NUL byte, and a string. Invariants: no crash, no
// read outside either, and the answer equals Redis's stringmatchlen (a direct, recursive port of
// it, run only where its backtracking stays small). The matcher's own cost is bounded by design
// (one backtrack point: O(pattern x string)), so long inputs are fed to it too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/resp/resp_number.h"

namespace {

// Redis 7's stringmatchlen (util.c), case-sensitive, with its nesting limit.
int redis_match(const char* pattern, int patternLen, const char* string, int stringLen, int* skip, int nesting) {
  if (nesting > 1000) return 0;
  while (patternLen && stringLen) {
    switch (pattern[0]) {
      case '*':
        while (patternLen && pattern[1] == '*') {
          pattern++;
          patternLen--;
        }
        if (patternLen == 1) return 1;
        while (stringLen) {
          if (redis_match(pattern + 1, patternLen - 1, string, stringLen, skip, nesting + 1)) return 1;
          if (*skip) return 0;
          string++;
          stringLen--;
        }
        *skip = 1;
        return 0;
      case '?':
        string++;
        stringLen--;
        break;
      case '[': {
        pattern++;
        patternLen--;
        const bool negate = pattern[0] == '^';
        if (negate) {
          pattern++;
          patternLen--;
        }
        bool match = false;
        for (;;) {
          if (pattern[0] == '\\' && patternLen >= 2) {
            pattern++;
            patternLen--;
            if (pattern[0] == string[0]) match = true;
          } else if (pattern[0] == ']') {
            break;
          } else if (patternLen == 0) {
            pattern--;
            patternLen++;
            break;
          } else if (patternLen >= 3 && pattern[1] == '-') {
            int start = pattern[0];  // plain char, as Redis compares
            int end = pattern[2];
            const int c = string[0];
            if (start > end) {
              const int t = start;
              start = end;
              end = t;
            }
            pattern += 2;
            patternLen -= 2;
            if (c >= start && c <= end) match = true;
          } else if (pattern[0] == string[0]) {
            match = true;
          }
          pattern++;
          patternLen--;
        }
        if (negate) match = !match;
        if (!match) return 0;
        string++;
        stringLen--;
        break;
      }
      case '\\':
        if (patternLen >= 2) {
          pattern++;
          patternLen--;
        }
        [[fallthrough]];
      default:
        if (pattern[0] != string[0]) return 0;
        string++;
        stringLen--;
        break;
    }
    pattern++;
    patternLen--;
    if (stringLen == 0) {
      while (*pattern == '*') {
        pattern++;
        patternLen--;
      }
      break;
    }
  }
  return patternLen == 0 && stringLen == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = in.find('\0');
  const std::string_view pattern = in.substr(0, nul);
  const std::string_view str = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  const bool got = ferrite::proto::resp::glob_match(pattern, str, false);
  // The port reads one byte past a pattern's end (Redis's strings end in a NUL): give it one.
  if (pattern.size() <= 64 && str.size() <= 64 && str.find('\0') == std::string_view::npos &&
      pattern.find('\0') == std::string_view::npos) {
    char pbuf[66] = {}, sbuf[66] = {};
    pattern.copy(pbuf, pattern.size());
    str.copy(sbuf, str.size());
    int skip = 0;
    const bool want =
        redis_match(pbuf, static_cast<int>(pattern.size()), sbuf, static_cast<int>(str.size()), &skip, 0) != 0;
    if (got != want) std::abort();
  }
  return 0;
}
