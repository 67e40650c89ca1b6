"""The `flask --app app <group> <command>` command groups (and through `syncapi.cli`, the `syncapi` command).

One module per group: `pos` (the reference POS tables), `state` (the service's own tables), `magento`
(`magento check`), `sync` (runs in the foreground), `webhook` (`webhook send-test`). Like the views, they sit
above the jobs and reach their process's parts through the app's `Services` (`syncapi.services.of_app`).
"""
