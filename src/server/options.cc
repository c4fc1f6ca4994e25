#include "server/options.h"

#include <string_view>
#include <vector>

#include "server/settings.h"

namespace ferrite::server {

std::string usage() {
  return "Usage: ferrited [--config FILE] [--set section.key=value ...] [--restore ARCHIVE [--restore-force]]\n"
         "       ferrited --help | --describe-config | --version\n"
         "\n"
         "Ferrite, a low-latency cache server: memcached (text, meta, binary, UDP), Redis (RESP),\n"
         "HTTP and Ferrite's binary protocol.\n"
         "\n"
         "  --config FILE            read the settings from a TOML file; without it ferrited runs on\n"
         "                           the built-in defaults (the same as configs/ferrite.toml)\n"
         "  --set section.key=value  override one setting after the file (repeatable), such as\n"
         "                           --set server.workers=2 --set listen.http=   (empty = off)\n"
         "  --restore ARCHIVE        restore a backup made by `ferritectl backup` into persist.dir,\n"
         "                           then start (recovery loads it): the archive is checked first\n"
         "                           (CHECKSUMS, every record); a persist.dir that holds a\n"
         "                           persistence folder is refused (persist.mode must not be off)\n"
         "  --restore-force          with --restore: move the folder's old files into\n"
         "                           persist.dir/.replaced-<time>/ and restore\n"
         "  --describe-config        print every setting with its type, default and meaning\n"
         "  --version                print the version\n"
         "  -h, --help               print this help\n"
         "\n"
         "When every listener is bound, ferrited prints one line to stdout, \"ferrited ready\"\n"
         "followed by name=host:port for each listener; logs go to stderr. SIGINT or SIGTERM stops\n"
         "it cleanly.\n"
         "\n"
         "Exit status: 0 after a clean stop or an informational option, 1 when start-up fails,\n"
         "2 for a bad command line or configuration.\n";
}

CommandLine parse_command_line(int argc, const char* const* argv, ServerConfig* config, std::ostream& out,
                               std::ostream& err) {
  CommandLine result;
  std::vector<std::string> errors;
  std::vector<std::string> overrides;
  bool have_config = false, help = false, describe = false, version = false;

  // "--name VALUE" or "--name=VALUE": the value; kMissing (an error is recorded) when VALUE is
  // missing; null if `arg` is not that option.
  static constexpr char kMissing[] = "";
  auto option_value = [&](int& i, std::string_view arg, std::string_view name) -> const char* {
    if (arg == name) {
      if (i + 1 >= argc) {
        errors.push_back(std::string(name) + " needs a value");
        return kMissing;
      }
      return argv[++i];
    }
    if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=') {
      return argv[i] + name.size() + 1;
    }
    return nullptr;
  };

  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (const char* v = option_value(i, arg, "--config")) {
      if (have_config) errors.push_back("--config given twice (one file; override single keys with --set)");
      have_config = true;
      result.config_path = v;
      if (v != kMissing && result.config_path.empty()) errors.push_back("--config needs a file name");
    } else if (const char* s = option_value(i, arg, "--set")) {
      if (s != kMissing) overrides.emplace_back(s);
    } else if (const char* a = option_value(i, arg, "--restore")) {
      if (!result.restore_path.empty()) errors.push_back("--restore given twice (one archive)");
      if (a != kMissing) {
        result.restore_path = a;
        if (result.restore_path.empty()) errors.push_back("--restore needs an archive folder");
      }
    } else if (arg == "--restore-force") {
      result.restore_force = true;
    } else if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--describe-config") {
      describe = true;
    } else if (arg == "--version") {
      version = true;
    } else if (arg.starts_with("-")) {
      errors.push_back("unknown option " + quote(arg) + " (see ferrited --help)");
    } else {
      errors.push_back("unexpected argument " + quote(arg) + " (a configuration file goes after --config)");
    }
  }

  if (errors.empty() && (help || describe || version)) {
    if (help) {
      out << usage();
    } else if (describe) {
      out << describe_config();
    } else {
      out << "ferrited " << server_version() << "\n";
    }
    out.flush();
    return result;
  }
  if (result.restore_force && result.restore_path.empty()) errors.push_back("--restore-force is an option of --restore");
  if (errors.empty()) errors = load_server_config(result.config_path, overrides, available_cpus(), config);
  if (errors.empty() && !result.restore_path.empty() && config->persist.mode == PersistMode::kOff) {
    errors.push_back("--restore needs persistence on (persist.mode = aof, snapshot or both): with it off "
                     "nothing would load the restored folder");
  }
  if (!errors.empty()) {
    for (const std::string& e : errors) err << "ferrited: " << e << "\n";
    err.flush();
    result.exit_status = 2;
    return result;
  }
  result.run = true;
  return result;
}

}  // namespace ferrite::server
