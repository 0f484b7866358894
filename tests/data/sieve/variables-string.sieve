# message: plain.eml
require ["variables", "fileinto"];
set "x" "Hello";
if string :is "${x}" "hello" { fileinto "string"; }
