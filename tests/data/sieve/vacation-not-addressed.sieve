# message: received.eml
require "vacation";
vacation :addresses "me@example.org" "Away.";
