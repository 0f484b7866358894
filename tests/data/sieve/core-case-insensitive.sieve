# message: plain.eml
REQUIRE "fileinto";
If NOT Address :DOMAIN :Is "from" "example.net" { FileInto "upper"; }
