# message: plain.eml
redirect "archive@example.net";
redirect "archive@example.net";
keep;
