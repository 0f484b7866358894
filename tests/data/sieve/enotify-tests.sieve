# message: plain.eml
require ["enotify", "fileinto"];
if valid_notify_method ["mailto:a@example.com", "mailto:b@example.com?subject=x"] { fileinto "valid"; }
if valid_notify_method "mailto:" { fileinto "empty-valid"; }
if valid_notify_method "xmpp:tim@example.com" { fileinto "xmpp-valid"; }
if notify_method_capability "mailto:a@example.com" "Online" "maybe" { fileinto "maybe"; }
if notify_method_capability "mailto:a@example.com" "online" "yes" { fileinto "yes"; }
