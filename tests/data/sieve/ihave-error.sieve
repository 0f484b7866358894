# message: plain.eml
require "ihave";
if ihave "fileinto" { error "failing on purpose"; }
