terraform {
  # 1.5 is the first release with `check` blocks and the validation/precondition
  # features this module relies on; 2.x may change the language.
  required_version = ">= 1.5, < 2.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # Checked offline against the 6.50.0 schema (tools/tf_schema_check.py).
      version = ">= 6.0, < 7.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }
}
