# The notifier's scope: the projects and regions it covers, which the function
# is told as allowlists (ALLOWED_PROJECTS, ALLOWED_REGIONS) and acts on nothing
# outside of, and the sweep's settings, which must stay within them.
#
# Locals only, computed from variables and the covered projects' numbers
# (local.project_numbers, projects.tf), so that tests/terraform can evaluate
# them in `terraform console` without the provider.

locals {
  # Ordered (project_id first) for SWEEP_PROJECTS; a set for for_each.
  covered_projects = concat([var.project_id], var.extra_projects)
  extra_projects   = toset(var.extra_projects)

  # ALLOWED_PROJECTS: every covered project by id and by number. A status or job
  # may name its project either way: Vertex AI's job names carry the number, and
  # so does the exit-handler stub's resource name.
  allowed_projects = flatten([for project in local.covered_projects : [project, local.project_numbers[project]]])

  # ALLOWED_REGIONS, and the regions the sweep lists (SWEEP_REGIONS), which must
  # be among them (a precondition on the function names any that is not).
  pipeline_regions      = length(var.pipeline_regions) > 0 ? var.pipeline_regions : [var.region]
  sweep_regions         = length(var.sweep_regions) > 0 ? var.sweep_regions : local.pipeline_regions
  sweep_regions_outside = sort(setsubtract(local.sweep_regions, local.pipeline_regions))

  # The shortest gap between two runs of sweep_schedule, in minutes, for the
  # schedules that state it plainly: "*/N * * * *", "M * * * *", "M */H * * *"
  # and "M H * * *" (M and H single numbers). A step that does not divide the
  # hour (or day) leaves a shorter gap at the wrap: */45 runs at :00 and :45, so
  # 15 minutes apart. Null for any other form, which is then not checked.
  sweep_every_minutes = try(tonumber(regex("^\\*/([0-9]+) \\* \\* \\* \\*$", var.sweep_schedule)[0]), null)
  sweep_every_hours   = try(tonumber(regex("^[0-9]+ \\*/([0-9]+) \\* \\* \\*$", var.sweep_schedule)[0]), null)
  sweep_gap_minutes = (
    local.sweep_every_minutes != null ? try(min(local.sweep_every_minutes, 60 - local.sweep_every_minutes * floor(59 / local.sweep_every_minutes)), null) :
    can(regex("^[0-9]+ \\* \\* \\* \\*$", var.sweep_schedule)) ? 60 :
    local.sweep_every_hours != null ? try(60 * min(local.sweep_every_hours, 24 - local.sweep_every_hours * floor(23 / local.sweep_every_hours)), null) :
    can(regex("^[0-9]+ [0-9]+ \\* \\* \\*$", var.sweep_schedule)) ? 1440 :
    null
  )
  # A scheduled trigger that arrives sooner than sweep_min_interval_minutes after
  # the last sweep is skipped; the interval must be shorter than the gap so that
  # every scheduled run sweeps (a trigger may arrive a little late or early).
  sweep_interval_fits = local.sweep_gap_minutes == null ? true : var.sweep_min_interval_minutes < local.sweep_gap_minutes
}
