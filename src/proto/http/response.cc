#include "proto/http/response.h"

#include <http_parser.h>

#include <cstring>

namespace ferrite::proto::http {

std::string_view reason_phrase(int status) noexcept {
  const std::string_view s = http_status_str(static_cast<http_status>(status));
  return s == "<unknown>" ? std::string_view("Unknown") : s;
}

void encode_head(const ResponseHead& h, Buffer& out) {
  out.append("HTTP/1.1 ");
  out.append_uint(static_cast<std::uint64_t>(h.status));
  out.push_back(' ');
  out.append(reason_phrase(h.status));
  out.append("\r\n");
  if (!h.date.empty()) {
    out.append("Date: ");
    out.append(h.date);
    out.append("\r\n");
  }
  if (!h.content_type.empty()) {
    out.append("Content-Type: ");
    out.append(h.content_type);
    out.append("\r\n");
  }
  if (h.status >= 200 && h.status != 204) {
    out.append("Content-Length: ");
    out.append_uint(h.content_length);
    out.append("\r\n");
  }
  if (!h.allow.empty()) {
    out.append("Allow: ");
    out.append(h.allow);
    out.append("\r\n");
  }
  if (!h.retry_after.empty()) {
    out.append("Retry-After: ");
    out.append(h.retry_after);
    out.append("\r\n");
  }
  switch (h.connection) {
    case ConnectionHeader::kNone:
      break;
    case ConnectionHeader::kClose:
      out.append("Connection: close\r\n");
      break;
    case ConnectionHeader::kKeepAlive:
      out.append("Connection: keep-alive\r\n");
      break;
  }
  out.append("\r\n");
}

void format_date(std::uint64_t unix_seconds, char (&out)[kDateLength]) noexcept {
  static constexpr char kDays[] = "ThuFriSatSunMonTueWed";  // 1970-01-01 was a Thursday
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const std::uint64_t days = unix_seconds / 86400;
  const std::uint64_t secs = unix_seconds % 86400;
  // Civil date from days since 1970-01-01 (proleptic Gregorian; H. Hinnant's days_from_civil
  // inverse), in unsigned arithmetic since the days are never negative here.
  const std::uint64_t z = days + 719468;
  const std::uint64_t era = z / 146097;
  const std::uint64_t doe = z - era * 146097;
  const std::uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::uint64_t mp = (5 * doy + 2) / 153;
  const std::uint64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::uint64_t month = mp < 10 ? mp + 3 : mp - 9;  // 1..12
  const std::uint64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  auto two = [](char* p, std::uint64_t v) {
    p[0] = static_cast<char>('0' + v / 10 % 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  std::memcpy(out, kDays + (days % 7) * 3, 3);
  out[3] = ',';
  out[4] = ' ';
  two(out + 5, day);
  out[7] = ' ';
  std::memcpy(out + 8, kMonths + (month - 1) * 3, 3);
  out[11] = ' ';
  two(out + 12, year / 100 % 100);
  two(out + 14, year % 100);
  out[16] = ' ';
  two(out + 17, secs / 3600);
  out[19] = ':';
  two(out + 20, secs / 60 % 60);
  out[22] = ':';
  two(out + 23, secs % 60);
  std::memcpy(out + 25, " GMT", 4);
}

}  // namespace ferrite::proto::http
