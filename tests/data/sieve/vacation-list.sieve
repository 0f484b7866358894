# message: list.eml
require "vacation";
vacation "away";
