require ["variables","imap4flags"];
if header :matches "from" "*@*" { set :lower "d" "${2}"; addflag "\\Seen"; }
keep;
