/* test_config.c - the configuration: every key and default, every error message with its key
 * path, the lookup order, secrets and their permission checks, URL rules, fingerprints. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "oauthtop/config.h"

#define SECRET "s3cr3t-Value+/="

/* Every test runs in its own temporary directory, which is also the working directory. */
#define PBUF 1024

static char tmpdir[512];
static char oldcwd[PBUF];
static char jbuf[16384];

/* The JSON with ' turned into " so the test texts stay readable. */
static const char *J(const char *s)
{
	size_t i;

	assert_true(strlen(s) < sizeof(jbuf));
	for (i = 0; s[i]; i++)
		jbuf[i] = s[i] == '\'' ? '"' : s[i];
	jbuf[i] = '\0';
	return jbuf;
}

#define PROV                                                                                       \
	"'providers':{'acme':{'token_url':'https://idp.example/token','client_id':'cid',"          \
	"'client_secret_env':'OT_CFG_SECRET'}}"
#define ACC(n) "{'name':'" n "','provider':'acme'}"

static int setup(void **state)
{
	char real[PBUF];

	(void)state;
	assert_non_null(getcwd(oldcwd, sizeof(oldcwd)));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ot-test-config-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	assert_non_null(realpath(tmpdir, real));
	assert_true(strlen(real) < sizeof(tmpdir));
	memcpy(tmpdir, real, strlen(real) + 1);
	assert_int_equal(chdir(tmpdir), 0);
	setenv("OT_CFG_SECRET", SECRET, 1);
	setenv("HOME", tmpdir, 1);
	unsetenv("OAUTHTOP_CONFIG");
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_STATE_HOME");
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	assert_int_equal(chdir(oldcwd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* tmpdir/rel, in buf. */
static const char *T(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", tmpdir, rel);
	return buf;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static ot_config *parse(const char *json, ot_err *err)
{
	return ot_config_parse(json, strlen(json), "cfg.json", err);
}

static void expect_error(const char *json, const char *msg)
{
	ot_err err = {{0}};
	ot_config *cfg = parse(json, &err);

	if (cfg) {
		ot_config_free(cfg);
		fail_msg("accepted: %s", json);
	}
	assert_string_equal(err.msg, msg);
}

/* The message holds every fragment (NULL-ended) and never the secret. */
static void expect_in(const char *msg, ...)
{
	va_list ap;
	const char *frag;

	va_start(ap, msg);
	while ((frag = va_arg(ap, const char *)))
		if (!strstr(msg, frag))
			fail_msg("\"%s\" not in \"%s\"", frag, msg);
	va_end(ap);
	assert_null(strstr(msg, SECRET));
	assert_null(strstr(msg, "s3cr3t"));
}

static void test_full_config(void **state)
{
	ot_err err = {{0}};
	ot_config *cfg;
	const ot_settings *s;
	const ot_provider *p;
	const ot_account *a;
	char sec[PBUF], ca[PBUF];

	(void)state;
	write_file(T(sec, sizeof(sec), "secret.txt"), SECRET "\n", 0600);
	write_file(T(ca, sizeof(ca), "ca.pem"), "x", 0644);
	cfg = parse(
	        J("{'window':600,'reauth_warning':86400,'store':'/var/lib/ot/ot.db',"
	          "'concurrency':4,'min_interval':10,'backoff':{'base':5,'max':600},"
	          "'lease_seconds':90,'timeouts':{'connect':3,'total':20},'history_days':30,"
	          "'theme':'mono','hooks':{'reauth':'/bin/r','failing':'/bin/f',"
	          "'recovered':'/bin/ok'},"
	          "'providers':{'acme':{'token_url':'https://idp.example/token',"
	          "'issuer':'https://idp.example','client_id':'cid',"
	          "'client_secret_file':'secret.txt','auth_method':'client_secret_post',"
	          "'scope':'openid offline_access','extra_params':{'audience':'api','resource':''},"
	          "'default_expires_in':3600,'refresh_token_lifetime':7776000,"
	          "'max_concurrency':2,'ca_file':'ca.pem',"
	          "'device_authorization_url':'https://idp.example/device',"
	          "'authorization_url':'https://idp.example/auth',"
	          "'revocation_url':'https://idp.example/revoke',"
	          "'introspection_url':'http://127.0.0.1:9/introspect','redirect_port':8765},"
	          "'pub':{'issuer':'http://localhost:8080','client_id':'p','auth_method':'none'}},"
	          "'accounts':[{'name':'billing-api','provider':'acme','grant':'client_credentials'"
	          ","
	          "'scope':'read','window':60,'endpoint':'https://api.example/v1',"
	          "'enabled':false},{'name':'a.b_C-9','provider':'pub'},"
	          "{'name':'noscope','provider':'acme','scope':''}]}"),
	        &err);
	assert_non_null(cfg);
	s = ot_config_settings(cfg);
	assert_string_equal(s->path, "cfg.json");
	assert_int_equal(s->window, 600);
	assert_int_equal(s->reauth_warning, 86400);
	assert_string_equal(s->store_path, "/var/lib/ot/ot.db");
	assert_int_equal(s->concurrency, 4);
	assert_int_equal(s->min_interval, 10);
	assert_int_equal(s->backoff_base, 5);
	assert_int_equal(s->backoff_max, 600);
	assert_int_equal(s->lease_seconds, 90);
	assert_int_equal(s->connect_timeout, 3);
	assert_int_equal(s->total_timeout, 20);
	assert_int_equal(s->history_days, 30);
	assert_string_equal(s->theme, "mono");
	assert_string_equal(s->hook_reauth, "/bin/r");
	assert_string_equal(s->hook_failing, "/bin/f");
	assert_string_equal(s->hook_recovered, "/bin/ok");

	assert_int_equal(ot_config_provider_count(cfg), 2);
	p = ot_config_provider(cfg, 0);
	assert_string_equal(p->name, "acme");
	assert_string_equal(p->token_url, "https://idp.example/token");
	assert_string_equal(p->issuer, "https://idp.example");
	assert_string_equal(p->client_id, "cid");
	assert_string_equal(p->client_secret, SECRET);
	assert_int_equal(p->auth_method, OT_AUTH_POST);
	assert_string_equal(p->scope, "openid offline_access");
	assert_int_equal(p->n_extra_params, 2);
	assert_string_equal(p->extra_params[0].key, "audience");
	assert_string_equal(p->extra_params[0].value, "api");
	assert_string_equal(p->extra_params[1].key, "resource");
	assert_string_equal(p->extra_params[1].value, "");
	assert_int_equal(p->default_expires_in, 3600);
	assert_int_equal(p->refresh_token_lifetime, 7776000);
	assert_int_equal(p->max_concurrency, 2);
	assert_string_equal(p->ca_file, ca);
	assert_string_equal(p->device_authorization_url, "https://idp.example/device");
	assert_string_equal(p->authorization_url, "https://idp.example/auth");
	assert_string_equal(p->revocation_url, "https://idp.example/revoke");
	assert_string_equal(p->introspection_url, "http://127.0.0.1:9/introspect");
	assert_int_equal(p->redirect_port, 8765);
	assert_int_equal(strlen(p->fingerprint), 16);
	assert_int_equal(strspn(p->fingerprint, "0123456789abcdef"), 16);

	p = ot_config_find_provider(cfg, "pub");
	assert_ptr_equal(p, ot_config_provider(cfg, 1));
	assert_null(p->token_url);
	assert_null(p->client_secret);
	assert_int_equal(p->auth_method, OT_AUTH_NONE);
	assert_null(p->scope);
	assert_int_equal(p->max_concurrency, 8);
	assert_int_equal(p->n_extra_params, 0);
	assert_int_equal(p->redirect_port, 0);
	assert_null(ot_config_find_provider(cfg, "nope"));
	assert_null(ot_config_provider(cfg, 2));

	assert_int_equal(ot_config_account_count(cfg), 3);
	a = ot_config_account(cfg, 0);
	assert_string_equal(a->name, "billing-api");
	assert_ptr_equal(a->provider, ot_config_provider(cfg, 0));
	assert_int_equal(a->grant, OT_GRANT_CLIENT_CREDENTIALS);
	assert_string_equal(a->scope, "read");
	assert_int_equal(a->window, 60);
	assert_string_equal(a->endpoint, "https://api.example/v1");
	assert_false(a->enabled);
	a = ot_config_find_account(cfg, "a.b_C-9");
	assert_ptr_equal(a, ot_config_account(cfg, 1));
	assert_int_equal(a->grant, OT_GRANT_REFRESH_TOKEN);
	assert_null(a->scope);
	assert_int_equal(a->window, 600); /* the global window */
	assert_null(a->endpoint);
	assert_true(a->enabled);
	a = ot_config_find_account(cfg, "noscope"); /* "" overrides the provider's scope */
	assert_null(a->scope);
	assert_null(ot_config_account(cfg, 3));
	ot_config_free(cfg);
}

static void test_defaults(void **state)
{
	ot_err err = {{0}};
	ot_config *cfg;
	const ot_settings *s;
	const ot_account *a;
	char want[PBUF];

	(void)state;
	cfg = parse(J("{'window':null," PROV ",'accounts':[" ACC("x") "]}"), &err);
	assert_non_null(cfg);
	s = ot_config_settings(cfg);
	assert_int_equal(s->window, 300);
	assert_int_equal(s->reauth_warning, 604800);
	assert_string_equal(s->store_path,
	                    T(want, sizeof(want), ".local/state/oauthtop/oauthtop.db"));
	assert_int_equal(s->concurrency, 32);
	assert_int_equal(s->min_interval, 30);
	assert_int_equal(s->backoff_base, 30);
	assert_int_equal(s->backoff_max, 3600);
	assert_int_equal(s->lease_seconds, 120);
	assert_int_equal(s->connect_timeout, 10);
	assert_int_equal(s->total_timeout, 30);
	assert_int_equal(s->history_days, 90);
	assert_string_equal(s->theme, "default");
	assert_null(s->hook_reauth);
	assert_null(s->hook_failing);
	assert_null(s->hook_recovered);
	a = ot_config_account(cfg, 0);
	assert_int_equal(a->window, 300);
	assert_true(a->enabled);
	assert_int_equal(a->grant, OT_GRANT_REFRESH_TOKEN);
	assert_int_equal(a->provider->auth_method, OT_AUTH_BASIC);
	assert_string_equal(a->provider->client_secret, SECRET);
	ot_config_free(cfg);

	/* An empty configuration is valid; the account's scope falls back to the provider's. */
	cfg = parse("{}", &err);
	assert_non_null(cfg);
	assert_int_equal(ot_config_account_count(cfg), 0);
	assert_int_equal(ot_config_provider_count(cfg), 0);
	assert_null(ot_config_find_account(cfg, "x"));
	ot_config_free(cfg);
	cfg = parse(J("{'providers':{'acme':{'token_url':'https://i/t','client_id':'c',"
	              "'client_secret_env':'OT_CFG_SECRET','scope':'s1'}},'accounts':[" ACC(
	                      "x") "],'hooks':{'reauth':''}}"),
	            &err);
	assert_non_null(cfg);
	assert_string_equal(ot_config_account(cfg, 0)->scope, "s1");
	assert_null(ot_config_settings(cfg)->hook_reauth);
	ot_config_free(cfg);
}

static void test_store_path(void **state)
{
	ot_err err = {{0}};
	ot_config *cfg;
	char dir[PBUF], file[PBUF], want[PATH_MAX];

	(void)state;
	setenv("XDG_STATE_HOME", "/srv/state", 1);
	cfg = parse("{}", &err);
	assert_non_null(cfg);
	assert_string_equal(ot_config_settings(cfg)->store_path, "/srv/state/oauthtop/oauthtop.db");
	ot_config_set_store_path(cfg, "other.db");
	assert_string_equal(ot_config_settings(cfg)->store_path, "other.db");
	ot_config_set_store_path(cfg, "/x/third.db");
	assert_string_equal(ot_config_settings(cfg)->store_path, "/x/third.db");
	ot_config_free(cfg);

	/* A relative XDG_STATE_HOME is ignored (XDG spec). */
	setenv("XDG_STATE_HOME", "rel", 1);
	cfg = parse("{}", &err);
	assert_string_equal(ot_config_settings(cfg)->store_path,
	                    T(want, sizeof(want), ".local/state/oauthtop/oauthtop.db"));
	ot_config_free(cfg);

	/* Relative paths are relative to the configuration file's directory, not the cwd. */
	assert_int_equal(mkdir(T(dir, sizeof(dir), "etc"), 0700), 0);
	write_file(T(file, sizeof(file), "etc/secret"), SECRET "\r\n", 0400);
	write_file(T(file, sizeof(file), "etc/cfg.json"),
	           J("{'store':'data/ot.db','providers':{'a':{'token_url':'https://i/t',"
	             "'client_id':'c','client_secret_file':'secret','ca_file':'../ca.pem'}}}"),
	           0600);
	cfg = ot_config_load(file, &err);
	assert_non_null(cfg);
	assert_string_equal(ot_config_settings(cfg)->path, file);
	assert_string_equal(ot_config_settings(cfg)->store_path,
	                    T(want, sizeof(want), "etc/data/ot.db"));
	assert_string_equal(ot_config_provider(cfg, 0)->client_secret, SECRET);
	assert_string_equal(ot_config_provider(cfg, 0)->ca_file,
	                    T(want, sizeof(want), "etc/../ca.pem"));
	ot_config_free(cfg);

	/* The same through a relative path to the file, and "~/". */
	write_file(file, J("{'store':'data/ot.db','theme':'t'}"), 0600);
	cfg = ot_config_load("etc/cfg.json", &err);
	assert_non_null(cfg);
	assert_string_equal(ot_config_settings(cfg)->store_path,
	                    T(want, sizeof(want), "etc/data/ot.db"));
	ot_config_free(cfg);
	cfg = parse(J("{'store':'~/s/ot.db'}"), &err);
	assert_string_equal(ot_config_settings(cfg)->store_path, T(want, sizeof(want), "s/ot.db"));
	ot_config_free(cfg);
}

static void test_errors(void **state)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
	        {"{'accounts':[" ACC("a") "," ACC("b") "," ACC(
	                 "c") ",{'name':'d','provder':'acme'}]," PROV "}",
	         "cfg.json: accounts[3].provder: unknown key"},
	        {"{" PROV
	         ",'accounts':[" ACC("a") "," ACC("b") ",{'name':'c','provider':'acmee'}]}",
	         "cfg.json: accounts[2].provider: no provider named \"acmee\""},
	        {"{'window':0}", "cfg.json: window: must be a number of seconds > 0"},
	        {"{'window':-5}", "cfg.json: window: must be a number of seconds > 0"},
	        {"{'window':'300'}", "cfg.json: window: must be a number"},
	        {"{'window':1.5}", "cfg.json: window: must be a whole number"},
	        {"{'window':1e300}", "cfg.json: window: must be at most 315360000"},
	        {"{" PROV ",'accounts':[" ACC("x") "," ACC("x") "]}",
	         "cfg.json: accounts[1].name: duplicate account name \"x\""},
	        {"{" PROV
	         ",'accounts':[" ACC("y") "," ACC("x") "," ACC("z") "," ACC("x") "," ACC("y") "]}",
	         "cfg.json: accounts[3].name: duplicate account name \"x\""},
	        {"{" PROV ",'accounts':[" ACC("bad name!") "]}",
	         "cfg.json: accounts[0].name: \"bad name!\" must match [A-Za-z0-9._-]+"},
	        {"{" PROV ",'accounts':[" ACC("") "]}",
	         "cfg.json: accounts[0].name: must not be empty"},
	        {"{" PROV ",'accounts':[{'provider':'acme'}]}",
	         "cfg.json: accounts[0].name: required"},
	        {"{" PROV ",'accounts':[{'name':'x'}]}",
	         "cfg.json: accounts[0].provider: required"},
	        {"{" PROV ",'accounts':[{'name':7,'provider':'acme'}]}",
	         "cfg.json: accounts[0].name: must be a string"},
	        {"{" PROV ",'accounts':[" ACC("ok") ",[]]}",
	         "cfg.json: accounts[1]: must be an object"},
	        {"{'accounts':{}}", "cfg.json: accounts: must be an array"},
	        {"{'providers':[]}", "cfg.json: providers: must be an object"},
	        {"{'providers':{'acme':'x'}}", "cfg.json: providers.acme: must be an object"},
	        {"[]", "cfg.json: the top level must be a JSON object"},
	        {"{'providers':{'acme':{'token_url':'http://idp.example/token','client_id':'c'}}}",
	         "cfg.json: providers.acme.token_url: http:// is allowed only for loopback hosts "
	         "(127.0.0.0/8, ::1, localhost)"},
	        {"{'providers':{'acme':{'issuer':'ftp://idp','client_id':'c'}}}",
	         "cfg.json: providers.acme.issuer: must be an https:// URL"},
	        {"{'providers':{'acme':{'client_id':'c','auth_method':'none'}}}",
	         "cfg.json: providers.acme: token_url or issuer is required"},
	        {"{'providers':{'acme':{'token_url':'https://i/t'}}}",
	         "cfg.json: providers.acme.client_id: required"},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':''}}}",
	         "cfg.json: providers.acme.client_id: must not be empty"},
	        {"{'timeouts':{'connect':'10'}}", "cfg.json: timeouts.connect: must be a number"},
	        {"{'timeouts':{'total':0}}",
	         "cfg.json: timeouts.total: must be a number of seconds > 0"},
	        {"{'windw':300}", "cfg.json: windw: unknown key"},
	        {"{'backoff':{'bsae':1}}", "cfg.json: backoff.bsae: unknown key"},
	        {"{'backoff':3}", "cfg.json: backoff: must be an object"},
	        {"{'timeouts':{'conect':1}}", "cfg.json: timeouts.conect: unknown key"},
	        {"{'hooks':{'reauht':'x'}}", "cfg.json: hooks.reauht: unknown key"},
	        {"{'hooks':{'reauth':['x']}}", "cfg.json: hooks.reauth: must be a string"},
	        {"{'providers':{'acme':{'tokenurl':'https://i/t'}}}",
	         "cfg.json: providers.acme.tokenurl: unknown key"},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':'c','auth_method':"
	         "'none','extra_params':{'audience':1}}}}",
	         "cfg.json: providers.acme.extra_params.audience: must be a string"},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':'c','auth_method':"
	         "'none','extra_params':{'grant_type':'password'}}}}",
	         "cfg.json: providers.acme.extra_params.grant_type: reserved: oauthtop sets this "
	         "parameter"},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':'c','auth_method':"
	         "'basic'}}}",
	         "cfg.json: providers.acme.auth_method: must be client_secret_basic, "
	         "client_secret_post or none"},
	        {"{" PROV ",'accounts':[{'name':'x','provider':'acme','grant':'password'}]}",
	         "cfg.json: accounts[0].grant: must be refresh_token or client_credentials"},
	        {"{'providers':{'p':{'token_url':'https://i/"
	         "t','client_id':'c','auth_method':'none'}},"
	         "'accounts':[{'name':'x','provider':'p','grant':'client_credentials'}]}",
	         "cfg.json: accounts[0].grant: client_credentials needs a provider with a client "
	         "secret"},
	        {"{'concurrency':0}", "cfg.json: concurrency: must be an integer >= 1"},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':'c','auth_method':"
	         "'none','max_concurrency':0}}}",
	         "cfg.json: providers.acme.max_concurrency: must be an integer >= 1"},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':'c','auth_method':"
	         "'none','redirect_port':70000}}}",
	         "cfg.json: providers.acme.redirect_port: must be at most 65535"},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':'c','auth_method':"
	         "'none','default_expires_in':-1}}}",
	         "cfg.json: providers.acme.default_expires_in: must be a number of seconds >= 0"},
	        {"{'lease_seconds':30}",
	         "cfg.json: lease_seconds: must be at least 2 x timeouts.total + 10 (70 seconds): "
	         "a leased request may wait one total timeout for a slot, then run another"},
	        {"{'timeouts':{'total':200}}",
	         "cfg.json: lease_seconds: must be at least 2 x timeouts.total + 10 (410 seconds): "
	         "a leased request may wait one total timeout for a slot, then run another"},
	        /* review 3: the reproduction's total 10 / lease 11, and one below the bound */
	        {"{'lease_seconds':11,'timeouts':{'total':10}}",
	         "cfg.json: lease_seconds: must be at least 2 x timeouts.total + 10 (30 seconds): "
	         "a leased request may wait one total timeout for a slot, then run another"},
	        {"{'lease_seconds':29,'timeouts':{'total':10}}",
	         "cfg.json: lease_seconds: must be at least 2 x timeouts.total + 10 (30 seconds): "
	         "a leased request may wait one total timeout for a slot, then run another"},
	        {"{'backoff':{'base':60,'max':30}}",
	         "cfg.json: backoff.max: must be >= backoff.base (60)"},
	        {"{'history_days':0}", "cfg.json: history_days: must be a number of days > 0"},
	        {"{'min_interval':-1}", "cfg.json: min_interval: must be a number of seconds >= 0"},
	        {"{'theme':''}", "cfg.json: theme: must not be empty"},
	        {"{'store':3}", "cfg.json: store: must be a string"},
	        {"{" PROV ",'accounts':[{'name':'x','provider':'acme','enabled':'yes'}]}",
	         "cfg.json: accounts[0].enabled: must be true or false"},
	        {"{" PROV ",'accounts':[{'name':'x','provider':'acme','window':0}]}",
	         "cfg.json: accounts[0].window: must be a number of seconds > 0"},
	        {"{" PROV
	         ",'accounts':[{'name':'x','provider':'acme','endpoint':'http://api.example'}]}",
	         "cfg.json: accounts[0].endpoint: http:// is allowed only for loopback hosts "
	         "(127.0.0.0/8, ::1, localhost)"},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':'c','auth_method':"
	         "'none','revocation_url':'http://localhost.evil.com/r'}}}",
	         "cfg.json: providers.acme.revocation_url: http:// is allowed only for loopback "
	         "hosts "
	         "(127.0.0.0/8, ::1, localhost)"},
	        {"{'window':1,'window':2}", "cfg.json: window: duplicate key"},
	        {"{'providers':{'a':{'client_id':'c','client_id':'d'}}}",
	         "cfg.json: providers.a.client_id: duplicate key"},
	        {"{'providers':{'bad name!':{}}}",
	         "cfg.json: providers: provider name \"bad name!\" must match [A-Za-z0-9._-]+"},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':'c'}}}",
	         "cfg.json: providers.acme: client_secret_basic needs a client secret "
	         "(client_secret_file, client_secret_env or client_secret); a public client needs "
	         "\"auth_method\": \"none\""},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':'c',"
	         "'client_secret_env':'OT_CFG_SECRET','client_secret_file':'/x'}}}",
	         "cfg.json: providers.acme: use only one of client_secret_file, client_secret_env "
	         "and "
	         "client_secret"},
	        {"{'providers':{'acme':{'token_url':'https://i/t','client_id':'c',"
	         "'client_secret_env':'OT_CFG_MISSING'}}}",
	         "cfg.json: providers.acme.client_secret_env: environment variable OT_CFG_MISSING "
	         "is "
	         "not set"},
	        {"", "cfg.json: empty file: expected a JSON object"},
	        {" \n", "cfg.json: empty file: expected a JSON object"},
	        {"{\n  'window': 300,\n  'x': 1\n  'y': 2\n}\n",
	         "cfg.json: line 4: invalid JSON near \"\"y\": 2\""},
	        {"{\n  'window': 300,\n  'x': 1,\n}\n",
	         "cfg.json: line 4: invalid JSON near \"}\""},
	        {"{\n  'window': 300\n", "cfg.json: line 3: invalid JSON: unexpected end of file"},
	        {"{'window': 300} x", "cfg.json: line 1: invalid JSON near \"x\""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(J(cases[i].json), cases[i].msg);
}

static void test_name_limits(void **state)
{
	char json[1024], name[140];
	ot_err err = {{0}};
	ot_config *cfg;

	(void)state;
	memset(name, 'n', 128);
	name[128] = '\0';
	snprintf(json, sizeof(json), "{" PROV ",'accounts':[{'name':'%s','provider':'acme'}]}",
	         name);
	cfg = parse(J(json), &err);
	assert_non_null(cfg);
	assert_non_null(ot_config_find_account(cfg, name));
	ot_config_free(cfg);
	strcat(name, "n");
	snprintf(json, sizeof(json), "{" PROV ",'accounts':[{'name':'%s','provider':'acme'}]}",
	         name);
	assert_null(parse(J(json), &err));
	expect_in(err.msg, "cfg.json: accounts[0].name: ", "longer than 128 characters", NULL);

	/* Control characters in a name never reach the message as such. */
	assert_null(parse(J("{" PROV ",'accounts':[" ACC("a\\nb") "]}"), &err));
	assert_string_equal(err.msg,
	                    "cfg.json: accounts[0].name: \"a?b\" must match [A-Za-z0-9._-]+");
}

static void test_many_accounts(void **state)
{
	static char json[16384];
	char name[32];
	ot_err err = {{0}};
	ot_config *cfg;
	size_t i, n = 0;

	(void)state;
	n += (size_t)snprintf(json + n, sizeof(json) - n, "{" PROV ",'accounts':[");
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n,
		                      "%s{'name':'acct-%03zu','provider':'acme'}", i ? "," : "",
		                      (i * 37) % 200);
	snprintf(json + n, sizeof(json) - n, "]}");
	cfg = parse(J(json), &err);
	assert_non_null(cfg);
	assert_int_equal(ot_config_account_count(cfg), 200);
	for (i = 0; i < 200; i++) {
		const ot_account *a;

		snprintf(name, sizeof(name), "acct-%03zu", i);
		a = ot_config_find_account(cfg, name);
		assert_non_null(a);
		assert_string_equal(a->name, name);
		/* order of the file is kept */
		assert_string_equal(ot_config_account(cfg, i)->name + 5,
		                    (snprintf(name, sizeof(name), "%03zu", (i * 37) % 200), name));
	}
	assert_null(ot_config_find_account(cfg, "acct-200"));
	assert_null(ot_config_find_account(cfg, ""));
	/* name order, as indexes into the file's order: acct-i is the account (i * 37) % 200
	 * names, i.e. file position i * 173 % 200 (37 * 173 = 1 mod 200) */
	for (i = 0; i < 200; i++)
		assert_int_equal(ot_config_account_by_name(cfg, i), (i * 173) % 200);
	assert_int_equal(ot_config_account_by_name(cfg, 200), SIZE_MAX);
	ot_config_free(cfg);

	/* a file already in name order (the common case, checked without sorting) */
	cfg = parse(
	        J("{" PROV ",'accounts':[" ACC("a") "," ACC("a.b") "," ACC("a0") "," ACC("b") "]}"),
	        &err);
	assert_non_null(cfg);
	for (i = 0; i < 4; i++)
		assert_int_equal(ot_config_account_by_name(cfg, i), i);
	ot_config_free(cfg);
	cfg = parse(
	        J("{" PROV ",'accounts':[" ACC("a0") "," ACC("a.b") "," ACC("b") "," ACC("a") "]}"),
	        &err);
	assert_non_null(cfg);
	assert_int_equal(ot_config_account_by_name(cfg, 0), 3);
	assert_int_equal(ot_config_account_by_name(cfg, 1), 1);
	assert_int_equal(ot_config_account_by_name(cfg, 2), 0);
	assert_int_equal(ot_config_account_by_name(cfg, 3), 2);
	ot_config_free(cfg);
}

static void test_locate(void **state)
{
	char out[PBUF], a[PBUF], b[PATH_MAX], c[PATH_MAX], d[PATH_MAX];
	ot_err err = {{0}};
	struct stat st;

	(void)state;
	write_file(T(a, sizeof(a), "explicit.json"), "{}", 0600);
	write_file(T(b, sizeof(b), "env.json"), "{}", 0600);
	assert_int_equal(mkdir(T(c, sizeof(c), "xdg"), 0700), 0);
	assert_int_equal(mkdir(T(c, sizeof(c), "xdg/oauthtop"), 0700), 0);
	write_file(T(c, sizeof(c), "xdg/oauthtop/config.json"), "{}", 0600);
	assert_int_equal(mkdir(T(d, sizeof(d), ".config"), 0700), 0);
	assert_int_equal(mkdir(T(d, sizeof(d), ".config/oauthtop"), 0700), 0);
	write_file(T(d, sizeof(d), ".config/oauthtop/config.json"), "{}", 0600);

	/* explicit path > $OAUTHTOP_CONFIG > $XDG_CONFIG_HOME > ~/.config */
	setenv("OAUTHTOP_CONFIG", b, 1);
	setenv("XDG_CONFIG_HOME", T(out, sizeof(out), "xdg"), 1);
	assert_int_equal(ot_config_locate(a, out, sizeof(out), &err), 0);
	assert_string_equal(out, a);
	assert_int_equal(ot_config_locate(NULL, out, sizeof(out), &err), 0);
	assert_string_equal(out, b);
	assert_int_equal(ot_config_locate("", out, sizeof(out), &err), 0);
	assert_string_equal(out, b);
	setenv("OAUTHTOP_CONFIG", "", 1);
	assert_int_equal(ot_config_locate(NULL, out, sizeof(out), &err), 0);
	assert_string_equal(out, c);
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(ot_config_locate(NULL, out, sizeof(out), &err), 0);
	assert_string_equal(out, d);
	setenv("XDG_CONFIG_HOME", "xdg", 1); /* relative: ignored */
	assert_int_equal(ot_config_locate(NULL, out, sizeof(out), &err), 0);
	assert_string_equal(out, d);

	/* A path the operator gave must exist: no silent fallback. */
	assert_int_equal(ot_config_locate("/nonexistent/x.json", out, sizeof(out), &err), -1);
	expect_in(err.msg, "/nonexistent/x.json", "No such file", "--config", NULL);
	setenv("OAUTHTOP_CONFIG", "/nonexistent/env.json", 1);
	assert_int_equal(ot_config_locate(NULL, out, sizeof(out), &err), -1);
	expect_in(err.msg, "/nonexistent/env.json", "OAUTHTOP_CONFIG", NULL);
	unsetenv("OAUTHTOP_CONFIG");

	/* Nothing found: the message lists where it looked. */
	setenv("XDG_CONFIG_HOME", T(c, sizeof(c), "empty"), 1);
	if (stat("/etc/oauthtop/config.json", &st) == 0) {
		assert_int_equal(ot_config_locate(NULL, out, sizeof(out), &err), 0);
		assert_string_equal(out, "/etc/oauthtop/config.json");
	} else {
		assert_int_equal(ot_config_locate(NULL, out, sizeof(out), &err), -1);
		T(c, sizeof(c), "empty/oauthtop/config.json");
		expect_in(err.msg, c, "/etc/oauthtop/config.json", NULL);
	}
	/* Too small a buffer is an error, not a truncated path. */
	assert_int_equal(ot_config_locate(a, out, 4, &err), -1);
	unsetenv("XDG_CONFIG_HOME");
}

static void test_load_errors(void **state)
{
	char path[PBUF];
	ot_err err = {{0}};

	(void)state;
	assert_null(ot_config_load(T(path, sizeof(path), "missing.json"), &err));
	expect_in(err.msg, path, "No such file", NULL);
	assert_null(ot_config_load(tmpdir, &err));
	expect_in(err.msg, tmpdir, "not a regular file", NULL);
	write_file(T(path, sizeof(path), "ww.json"), "{}", 0666);
	assert_null(ot_config_load(path, &err));
	expect_in(err.msg, path, "writable by anyone", NULL);
	write_file(path, J("{'accounts':[{'name':'x','provder':'acme'}]}"), 0644);
	assert_null(ot_config_load(path, &err));
	snprintf(jbuf, sizeof(jbuf), "%s: accounts[0].provder: unknown key", path);
	assert_string_equal(err.msg, jbuf);
}

static void test_secret_file(void **state)
{
	char cfgp[PBUF], sec[PBUF], json[4 * PBUF];
	ot_err err = {{0}};
	ot_config *cfg;

	(void)state;
	T(cfgp, sizeof(cfgp), "cfg.json");
	T(sec, sizeof(sec), "secret");
	snprintf(json, sizeof(json),
	         "{'providers':{'acme':{'token_url':'https://i/t','client_id':'c',"
	         "'client_secret_file':'secret'}}}");
	write_file(cfgp, J(json), 0644);

	write_file(sec, SECRET "\n\n", 0600);
	cfg = ot_config_load(cfgp, &err);
	assert_non_null(cfg);
	assert_string_equal(ot_config_provider(cfg, 0)->client_secret, SECRET);
	ot_config_free(cfg);

	write_file(sec, SECRET "\n", 0640); /* group-readable */
	assert_null(ot_config_load(cfgp, &err));
	expect_in(err.msg, "cfg.json: providers.acme.client_secret_file: ", sec,
	          "readable by group or others", "chmod 600", NULL);
	write_file(sec, SECRET "\n", 0604); /* world-readable */
	assert_null(ot_config_load(cfgp, &err));
	expect_in(err.msg, "providers.acme.client_secret_file: ", "0604", NULL);

	write_file(sec, "\n", 0600);
	assert_null(ot_config_load(cfgp, &err));
	expect_in(err.msg, "providers.acme.client_secret_file: ", sec, "is empty", NULL);

	unlink(sec);
	assert_null(ot_config_load(cfgp, &err));
	snprintf(json, sizeof(json),
	         "%s: providers.acme.client_secret_file: cannot read %s: No such file or directory",
	         cfgp, sec);
	assert_string_equal(err.msg, json);
}

static void test_secret_env_and_inline(void **state)
{
	char cfgp[PBUF];
	ot_err err = {{0}};
	ot_config *cfg;
	const char *inl = "{'providers':{'acme':{'token_url':'https://i/t','client_id':'c',"
	                  "'client_secret':'" SECRET "'}}}";

	(void)state;
	setenv("OT_CFG_EMPTY", "", 1);
	expect_error(J("{'providers':{'acme':{'token_url':'https://i/t','client_id':'c',"
	               "'client_secret_env':'OT_CFG_EMPTY'}}}"),
	             "cfg.json: providers.acme.client_secret_env: environment variable "
	             "OT_CFG_EMPTY is empty");

	/* Inline: fine in a 0600 file, refused in a group- or world-readable one. */
	T(cfgp, sizeof(cfgp), "inline.json");
	write_file(cfgp, J(inl), 0600);
	cfg = ot_config_load(cfgp, &err);
	assert_non_null(cfg);
	assert_string_equal(ot_config_provider(cfg, 0)->client_secret, SECRET);
	ot_config_free(cfg);
	write_file(cfgp, J(inl), 0640);
	assert_null(ot_config_load(cfgp, &err));
	expect_in(err.msg, "inline.json: providers.acme.client_secret: refused", "chmod 600",
	          "client_secret_file", NULL);
	write_file(cfgp, J(inl), 0644);
	assert_null(ot_config_load(cfgp, &err));
	expect_in(err.msg, "providers.acme.client_secret: refused", NULL);
	/* ot_config_parse checks the named file too; text from no file is not refused. */
	assert_null(ot_config_parse(J(inl), strlen(jbuf), cfgp, &err));
	expect_in(err.msg, "providers.acme.client_secret: refused", NULL);
	cfg = ot_config_parse(J(inl), strlen(jbuf), "no-such-file.json", &err);
	assert_non_null(cfg);
	ot_config_free(cfg);

	/* A JSON error next to a secret does not quote the text. */
	expect_error(J("{'providers':{'acme':{'client_secret':'" SECRET "}}}"),
	             "cfg.json: line 1: invalid JSON (near a secret, not shown)");
	expect_error(J("{'providers':{'acme':{'client_secret':'" SECRET "' 'x':1}}}"),
	             "cfg.json: line 1: invalid JSON (near a secret, not shown)");
	/* Other errors about secrets name the key, never the value. */
	expect_error(J("{'providers':{'acme':{'token_url':'https://i/t','client_id':'c',"
	               "'client_secret':['" SECRET "']}}}"),
	             "cfg.json: providers.acme.client_secret: must be a string");
	assert_null(parse(J("{'providers':{'acme':{'token_url':'https://i/t','client_id':'c',"
	                    "'client_secret':'" SECRET "','client_secret_env':'OT_CFG_SECRET'}}}"),
	                  &err));
	expect_in(err.msg, "providers.acme: use only one of", NULL);
}

static const ot_provider *fp_provider(const char *json, ot_config **cfg)
{
	ot_err err = {{0}};

	*cfg = parse(J(json), &err);
	assert_non_null(*cfg);
	return ot_config_provider(*cfg, 0);
}

static void test_fingerprint(void **state)
{
	ot_config *c1, *c2, *c3, *c4, *c5;
	const char *base = "{'providers':{'a':{'token_url':'https://i/t','client_id':'c',"
	                   "'client_secret_env':'OT_CFG_SECRET'}}}";
	char fp1[17];

	(void)state;
	snprintf(fp1, sizeof(fp1), "%s", fp_provider(base, &c1)->fingerprint);
	assert_string_equal(fp_provider(base, &c2)->fingerprint, fp1); /* stable */
	setenv("OT_CFG_SECRET", "another", 1);
	assert_string_not_equal(fp_provider(base, &c3)->fingerprint, fp1);
	setenv("OT_CFG_SECRET", SECRET, 1);
	assert_string_not_equal(
	        fp_provider(
	                "{'providers':{'a':{'token_url':'https://i/t','client_id':'c',"
	                "'client_secret_env':'OT_CFG_SECRET','auth_method':'client_secret_post'}}}",
	                &c4)
	                ->fingerprint,
	        fp1);
	assert_string_not_equal(
	        fp_provider("{'providers':{'a':{'token_url':'https://i/t2','client_id':'c',"
	                    "'client_secret_env':'OT_CFG_SECRET'}}}",
	                    &c5)
	                ->fingerprint,
	        fp1);
	/* Discovery fills endpoints without changing the fingerprint; strings are copied. */
	{
		char url[64] = "https://idp/token2";

		ot_config_provider_set_endpoints(c1, "a", url, "https://idp/dev", NULL, NULL,
		                                 "https://idp/intro");
		ot_config_provider_set_endpoints(c1, "a", "https://idp/token3", NULL, NULL,
		                                 "https://idp/rev", NULL);
		ot_config_provider_set_endpoints(c1, "nope", url, url, url, url, url);
		url[0] = 'X';
		assert_string_equal(ot_config_provider(c1, 0)->token_url, "https://idp/token3");
		assert_string_equal(ot_config_provider(c1, 0)->device_authorization_url,
		                    "https://idp/dev");
		assert_null(ot_config_provider(c1, 0)->authorization_url);
		assert_string_equal(ot_config_provider(c1, 0)->revocation_url, "https://idp/rev");
		assert_string_equal(ot_config_provider(c1, 0)->introspection_url,
		                    "https://idp/intro");
		assert_string_equal(ot_config_provider(c1, 0)->fingerprint, fp1);
	}
	ot_config_free(c1);
	ot_config_free(c2);
	ot_config_free(c3);
	ot_config_free(c4);
	ot_config_free(c5);
	ot_config_free(NULL);
}

static void test_url_allowed(void **state)
{
	static const char *const ok[] = {
	        "https://idp.example/token",
	        "HTTPS://IDP.EXAMPLE",
	        "https://user@idp.example:8443/t?x=1",
	        "http://127.0.0.1/t",
	        "http://127.0.0.1:8080/t",
	        "http://127.255.255.254:1/",
	        "http://127.0.0.1",
	        "http://localhost",
	        "http://LOCALHOST:99/x",
	        "http://[::1]:8080/t",
	        "http://[::1]/",
	        "http://[0:0:0:0:0:0:0:1]:65535",
	        "http://localhost?x=@evil.com",
	        "http://localhost/p@evil.com",
	        "http://127.0.0.1#@evil.com",
	};
	static const char *const bad[] = {
	        "",
	        "http://",
	        "https://",
	        "https:///path",
	        "http:/localhost/",
	        "ftp://idp.example/",
	        "javascript:alert(1)",
	        "idp.example/token",
	        "http://idp.example/token",
	        "http://localhost.evil.com/",
	        "http://localhost.:80/",
	        "http://127.0.0.1@evil.com/",
	        "http://127.0.0.1:80@evil.com/",
	        "http://evil.com@127.0.0.1/",
	        "http://127.0.0.1\\@evil.com/",
	        "http://127.0.0.1.evil.com/",
	        "http://128.0.0.1/",
	        "http://126.0.0.1/",
	        "http://127.1/",
	        "http://127.0.0.1.1/",
	        "http://0177.0.0.1/",
	        "http://127.0.0.01/",
	        "http://127.0.0.256/",
	        "http://2130706433/",
	        "http://0x7f.0.0.1/",
	        "http://[::2]/",
	        "http://[::1%25eth0]/",
	        "http://[::ffff:127.0.0.1]/",
	        "http://[::1/",
	        "http://[::1]x/",
	        "http://::1/",
	        "http://%6cocalhost/",
	        "http://localhost:0/",
	        "http://localhost:99999/",
	        "http://localhost:/",
	        "http://localhost:80a/",
	        "http://localhost:1:2/",
	        "https://exa mple.com/",
	        "https://example.com/\n",
	        "http://local host/",
	};
	size_t i;

	(void)state;
	assert_int_equal(ot_url_allowed(NULL), 0);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ot_url_allowed(ok[i]) != 1)
			fail_msg("refused: %s", ok[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ot_url_allowed(bad[i]) != 0)
			fail_msg("allowed: %s", bad[i]);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(ot_grant_name(OT_GRANT_REFRESH_TOKEN), "refresh_token");
	assert_string_equal(ot_grant_name(OT_GRANT_CLIENT_CREDENTIALS), "client_credentials");
	assert_string_equal(ot_auth_method_name(OT_AUTH_BASIC), "client_secret_basic");
	assert_string_equal(ot_auth_method_name(OT_AUTH_POST), "client_secret_post");
	assert_string_equal(ot_auth_method_name(OT_AUTH_NONE), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_full_config, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_store_path, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_name_limits, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_many_accounts, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_locate, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_load_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_secret_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_secret_env_and_inline, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fingerprint, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_url_allowed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
