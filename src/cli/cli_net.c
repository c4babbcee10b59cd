/* cli_net.c - what the full binary does once the store is open: providers configured by
 * issuer get their endpoints from the (cached) discovery metadata. */
#include "cli/cli.h"
#include "oauthtop/discovery.h"
#include "oauthtop/log.h"

int ot_cli_discover(ot_cli *cli)
{
	ot_err err = {{0}};

	if (ot_discovery_apply_all(cli->cfg, cli->store, ot_cli_now(), 0, &err) < 0)
		ot_log(OT_LOG_WARN, NULL, "%s", err.msg);
	return 0;
}
