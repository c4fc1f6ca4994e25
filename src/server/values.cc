// The settings' value types (settings.h): parsing, canonical spellings, and what each accepts.
#include "server/settings.h"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "core/net.h"
#include "core/size.h"
#include "core/text.h"
#include "server/address.h"

namespace ferrite::server {

namespace {

std::optional<std::int64_t> parse_signed(std::string_view text) noexcept {
  const bool negative = !text.empty() && text.front() == '-';
  const auto v = parse_uint(negative ? text.substr(1) : text);
  if (!v || *v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return negative ? -static_cast<std::int64_t>(*v) : static_cast<std::int64_t>(*v);
}

std::string range_text(const Setting& s) {
  if (s.type == Type::kSize) return format_size(s.min) + " to " + format_size(s.max);
  return std::to_string(s.min) + " to " + std::to_string(s.max);
}

std::string join_choices(const Setting& s) {
  std::string out;
  for (const std::string_view c : s.choices) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

std::string fail(const Setting& s, std::string_view shown, std::string_view problem) {
  return std::string(s.name) + ": " + std::string(shown) + " " + std::string(problem) + "; expected " +
         allowed_values(s);
}

}  // namespace

std::optional<std::uint64_t> parse_uint(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<std::uint64_t> parse_duration(std::string_view text) noexcept {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const auto n = parse_uint(text.substr(0, digits));
  if (!n) return std::nullopt;
  std::string_view unit = text.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return std::nullopt;
  }
  if (*n > UINT64_MAX / scale) return std::nullopt;
  return *n * scale;
}

std::optional<std::vector<unsigned>> parse_cpu_list(std::string_view text, std::string* problem) {
  std::vector<unsigned> cpus;
  if (text.find_first_not_of(' ') == std::string_view::npos) return cpus;
  auto id = [&](std::string_view t) -> std::optional<unsigned> {
    t = trim_blanks(t);
    const auto v = parse_uint(t);
    if (!v) {
      *problem = "has \"" + std::string(t) + "\", which is not a CPU id";
      return std::nullopt;
    }
    if (*v >= kMaxCpuId) {
      *problem = "has CPU " + std::string(t) + ", beyond the last possible CPU id";
      return std::nullopt;
    }
    return static_cast<unsigned>(*v);
  };
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const std::size_t dash = item.find('-');
    const auto first = id(item.substr(0, dash));
    if (!first) return std::nullopt;
    unsigned last = *first;
    if (dash != std::string_view::npos) {
      const auto l = id(item.substr(dash + 1));
      if (!l) return std::nullopt;
      if (*l < *first) {
        *problem = "has the range " + std::string(trim_blanks(item)) + ", which runs backwards";
        return std::nullopt;
      }
      last = *l;
    }
    for (unsigned c = *first; c <= last; ++c) {
      if (std::find(cpus.begin(), cpus.end(), c) != cpus.end()) {
        *problem = "lists CPU " + std::to_string(c) + " twice";
        return std::nullopt;
      }
      cpus.push_back(c);
    }
    if (comma == std::string_view::npos) return cpus;
    text = text.substr(comma + 1);
  }
}

std::string format_cpu_list(std::span<const unsigned> cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(cpus[j]);
    }
    i = j + 1;
  }
  return out;
}

std::string allowed_values(const Setting& s) {
  switch (s.type) {
    case Type::kInt:
      return "an integer from " + range_text(s);
    case Type::kSize:
      return "a size from " + range_text(s) + " (bytes, or a number with a unit: B, KiB, MiB, GiB, TiB)";
    case Type::kDuration:
      return "seconds from " + range_text(s) + " (a number, or a number with a unit: s, m, h, d)";
    case Type::kEnum:
      return "one of " + join_choices(s);
    case Type::kAddress:
      return "\"host:port\" with a numeric IPv4 host or a bracketed IPv6 host (\"127.0.0.1:11211\", "
             "\"[::1]:11211\"), port 0 for any free port, or \"\" for off";
    case Type::kCpuList:
      return "CPU ids and ranges below " + std::to_string(kMaxCpuId) +
             " such as \"0-3,8\", or \"\" for the CPUs this process may run on";
    case Type::kPath:
      return "a path of at most " + std::to_string(kMaxSocketPath) + " bytes, or \"\" for off";
    case Type::kText:
      return "text of at most " + std::to_string(s.max) + " bytes without control characters";
    case Type::kPrefixes:
      if (s.max == 1) return "an IPv4 address with its prefix length such as \"198.18.0.2/24\", or \"\"";
      if (s.max > 1) {
        return "up to " + std::to_string(s.max) +
               " IPv4 addresses with their prefix lengths, separated by commas, such as \"198.18.0.2/24\" or "
               "\"198.18.0.2/24,198.19.0.2/24\", or \"\"";
      }
      return "IPv4 prefixes separated by commas such as \"10.0.0.0/8,198.18.0.0/24\", or \"\"";
  }
  return "";
}

std::string type_summary(const Setting& s) {
  switch (s.type) {
    case Type::kInt:
      return "integer " + std::to_string(s.min) + ".." + std::to_string(s.max);
    case Type::kSize:
      return "size " + format_size(s.min) + ".." + format_size(s.max);
    case Type::kDuration:
      return "seconds " + std::to_string(s.min) + ".." + std::to_string(s.max);
    case Type::kEnum:
      return "one of " + join_choices(s);
    case Type::kAddress:
      return "address \"host:port\", \"\" = off";
    case Type::kCpuList:
      return "CPU list such as \"0-3,8\"";
    case Type::kPath:
      return "path, \"\" = off";
    case Type::kText:
      return "text";
    case Type::kPrefixes:
      return s.max == 0 ? "IPv4 prefixes" : s.max == 1 ? "IPv4 address/prefix" : "IPv4 addresses/prefixes";
  }
  return "";
}

std::string check_value(const Setting& s, std::string_view text, std::string_view shown,
                        std::string* canonical) {
  switch (s.type) {
    case Type::kInt: {
      const auto v = parse_signed(text);
      if (!v) return fail(s, shown, "is not an integer");
      if (*v < 0 || static_cast<std::uint64_t>(*v) < s.min || static_cast<std::uint64_t>(*v) > s.max) {
        return fail(s, shown, "is out of range");
      }
      *canonical = std::to_string(*v);
      return "";
    }
    case Type::kSize: {
      const auto v = parse_size(text);
      if (!v && text.starts_with('-') && parse_size(text.substr(1))) return fail(s, shown, "is out of range");
      if (!v) return fail(s, shown, "is not a size");
      if (*v < s.min || *v > s.max) return fail(s, shown, "is out of range");
      *canonical = format_size(*v);
      return "";
    }
    case Type::kDuration: {
      const auto v = parse_duration(text);
      if (!v && text.starts_with('-') && parse_duration(text.substr(1)))
        return fail(s, shown, "is out of range");
      if (!v) return fail(s, shown, "is not a duration");
      if (*v < s.min || *v > s.max) return fail(s, shown, "is out of range");
      *canonical = std::to_string(*v);
      return "";
    }
    case Type::kEnum: {
      const auto i = parse_choice(s, text);
      if (!i) return fail(s, shown, "is not allowed");
      *canonical = s.choices[*i];
      return "";
    }
    case Type::kAddress: {
      ListenAddress a;
      const std::string problem = parse_listen_address(text, &a);
      if (!problem.empty()) return fail(s, shown, problem);
      *canonical = a.text();
      return "";
    }
    case Type::kCpuList: {
      std::string problem;
      const auto cpus = parse_cpu_list(text, &problem);
      if (!cpus) return fail(s, shown, problem);
      *canonical = format_cpu_list(*cpus);
      return "";
    }
    case Type::kPath: {
      if (text.find('\0') != std::string_view::npos) return fail(s, shown, "holds a NUL byte");
      if (text.size() > kMaxSocketPath) {
        return fail(s, shown, "is " + std::to_string(text.size()) + " bytes long");
      }
      *canonical = text;
      return "";
    }
    case Type::kText: {
      for (const char c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return fail(s, shown, "holds a control character");
      }
      if (text.size() > s.max) return fail(s, shown, "is " + std::to_string(text.size()) + " bytes long");
      *canonical = text;
      return "";
    }
    case Type::kPrefixes: {
      std::vector<Ipv4Prefix> prefixes;
      const std::string problem = parse_ipv4_prefixes(text, &prefixes);
      if (!problem.empty()) return fail(s, shown, "is not valid: " + problem);
      if (s.max != 0 && prefixes.size() > s.max) return fail(s, shown, "has more than " + std::to_string(s.max));
      canonical->clear();
      for (const Ipv4Prefix& p : prefixes) {
        if (!canonical->empty()) *canonical += ',';
        *canonical += p.text();
      }
      return "";
    }
  }
  return fail(s, shown, "has an unknown type");
}

std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string toml_value(const Setting& s, std::string_view canonical) {
  const bool number = s.type == Type::kInt || s.type == Type::kDuration ||
                      (s.type == Type::kSize && parse_uint(canonical) && canonical.size() < 19);
  return number ? std::string(canonical) : quote(canonical);
}

}  // namespace ferrite::server
