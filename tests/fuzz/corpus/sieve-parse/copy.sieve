# message: plain.eml
require ["copy", "fileinto"];
fileinto :copy "Copy";
redirect :copy "b@example.net";
