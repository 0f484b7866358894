require ["regex", "enotify", "variables", "relational"];
if header :regex "subject" "^(caf.*) ([a-z]+)$" {
  set :encodeurl "b" "${1}&${2}";
  notify :importance "1" :message "${0}" "mailto:a@example.com?body=${b}";
}
if notify_method_capability "mailto:a@example.com" "online" "maybe" { keep; }
if valid_notify_method ["mailto:x@example.com"] { stop; }
