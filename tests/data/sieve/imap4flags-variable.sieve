# message: plain.eml
require ["imap4flags", "variables", "fileinto"];
set "f" "";
addflag "f" ["\\Seen", "Work"];
removeflag "f" "work";
if hasflag "f" "\\seen" { fileinto :flags "${f}" "SeenOnly"; }
