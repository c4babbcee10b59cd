/* test_authorize.c - the authorization state machines without a server: the code flow's URL
 * (S256 challenge, state, scope, prompt), its loopback listener (127.0.0.1 only, requests in
 * pieces, stray paths, forged state, error answers, iss mix-up, the deadline, one request then
 * closed), refused starts, and a device flow whose server is down. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "oauthtop/authorize.h"
#include "oauthtop/config.h"

#define NOW INT64_C(1764084000)

static ot_config *cfg;

static const char cfg_text[] =
        "{\"store\":\"/nonexistent/oauthtop.db\",\"providers\":{"
        "\"web\":{\"token_url\":\"http://127.0.0.1:1/token\",\"client_id\":\"my client\","
        "\"auth_method\":\"none\",\"authorization_url\":\"https://idp.example/auth?x=1\","
        "\"issuer\":\"https://idp.example\",\"extra_params\":{\"audience\":\"api\"}},"
        "\"dev\":{\"token_url\":\"http://127.0.0.1:1/token\",\"client_id\":\"c\","
        "\"auth_method\":\"none\",\"device_authorization_url\":\"http://127.0.0.1:1/device\"},"
        "\"bare\":{\"token_url\":\"http://127.0.0.1:1/token\",\"client_id\":\"c\","
        "\"auth_method\":\"none\"},"
        "\"ccp\":{\"token_url\":\"http://127.0.0.1:1/token\",\"client_id\":\"c\","
        "\"client_secret_env\":\"OT_TEST_AUTH_SECRET\","
        "\"device_authorization_url\":\"http://127.0.0.1:1/device\"}},"
        "\"accounts\":[{\"name\":\"web\",\"provider\":\"web\",\"scope\":\"openid offline_access\"},"
        "{\"name\":\"web2\",\"provider\":\"web\",\"scope\":\"read\"},"
        "{\"name\":\"dev\",\"provider\":\"dev\"},"
        "{\"name\":\"bare\",\"provider\":\"bare\"},"
        "{\"name\":\"cc\",\"provider\":\"ccp\",\"grant\":\"client_credentials\"}]}";

static int setup(void **state)
{
	ot_err err = {{0}};

	(void)state;
	setenv("OT_TEST_AUTH_SECRET", "s3cret", 1);
	cfg = ot_config_parse(cfg_text, strlen(cfg_text), "test.json", &err);
	if (!cfg)
		fprintf(stderr, "%s\n", err.msg);
	return cfg ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ot_config_free(cfg);
	return 0;
}

static ot_auth *start(const char *account, ot_auth_flow flow, ot_err *err)
{
	ot_auth_opts o = {0};

	o.flow = flow;
	o.timeout = 30;
	return ot_auth_start(ot_config_find_account(cfg, account), ot_config_settings(cfg), &o, NOW,
	                     err);
}

/* The value of parameter name in url (not decoded), into out. */
static int url_param(const char *url, const char *name, char *out, size_t n)
{
	char key[64];
	const char *p;
	size_t len;

	snprintf(key, sizeof(key), "%s=", name);
	for (p = strchr(url, '?'); p; p = strchr(p + 1, '&'))
		if (strncmp(p + 1, key, strlen(key)) == 0)
			break;
	if (!p)
		return -1;
	p += 1 + strlen(key);
	len = strcspn(p, "&");
	snprintf(out, n, "%.*s", (int)len, p);
	return 0;
}

static int redirect_port(const ot_auth *x)
{
	ot_auth_info i;
	unsigned port = 0;

	ot_auth_get_info(x, &i);
	assert_int_equal(sscanf(i.redirect_uri, "http://127.0.0.1:%u/callback", &port), 1);
	return (int)port;
}

static int connect_to(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Steps x until the answer arrives on fd (or 2 s pass); returns the answer's status. */
static int answer_status(ot_auth *x, int fd, int64_t now)
{
	char buf[2048];
	size_t got = 0;
	int status = 0;

	for (int i = 0; i < 200; i++) {
		ssize_t r;
		ot_auth_step(x, now);
		r = recv(fd, buf + got, sizeof(buf) - 1 - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
		if (r == 0)
			break;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	buf[got] = '\0';
	sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

static int request(ot_auth *x, const char *target, int64_t now)
{
	char req[1024];
	int fd = connect_to(redirect_port(x)), status;

	assert_true(fd >= 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", target);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	status = answer_status(x, fd, now);
	close(fd);
	return status;
}

static void test_code_url(void **state)
{
	ot_err err = {{0}};
	ot_auth *x = start("web", OT_FLOW_AUTO, &err);
	ot_auth_info i;
	char v[128];

	(void)state;
	assert_non_null(x);
	ot_auth_get_info(x, &i);
	assert_int_equal(i.flow, OT_FLOW_CODE);
	assert_int_equal(i.state, OT_AUTH_WAITING);
	assert_int_equal(i.deadline, NOW + 30);
	assert_true(strncmp(i.authorization_url, "https://idp.example/auth?x=1&response_type=code&",
	                    48) == 0);
	assert_int_equal(url_param(i.authorization_url, "client_id", v, sizeof(v)), 0);
	assert_string_equal(v, "my%20client");
	assert_int_equal(url_param(i.authorization_url, "code_challenge_method", v, sizeof(v)), 0);
	assert_string_equal(v, "S256");
	assert_int_equal(url_param(i.authorization_url, "code_challenge", v, sizeof(v)), 0);
	assert_int_equal(strlen(v), 43);
	assert_int_equal(
	        strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	assert_int_equal(url_param(i.authorization_url, "state", v, sizeof(v)), 0);
	assert_true(strlen(v) >= 22);
	assert_int_equal(url_param(i.authorization_url, "scope", v, sizeof(v)), 0);
	assert_string_equal(v, "openid%20offline_access");
	assert_int_equal(url_param(i.authorization_url, "prompt", v, sizeof(v)), 0);
	assert_string_equal(v, "consent");
	assert_int_equal(url_param(i.authorization_url, "audience", v, sizeof(v)), 0);
	assert_string_equal(v, "api");
	assert_int_equal(url_param(i.authorization_url, "redirect_uri", v, sizeof(v)), 0);
	assert_true(strncmp(v, "http%3A%2F%2F127.0.0.1%3A", 25) == 0);
	assert_true(ot_auth_timeout_ms(x, NOW) <= 1000);
	assert_true(ot_auth_fd(x) >= 0);
	ot_auth_free(x);

	/* no offline_access: no prompt=consent; two flows never share a state */
	x = start("web2", OT_FLOW_CODE, &err);
	assert_non_null(x);
	ot_auth_get_info(x, &i);
	assert_int_equal(url_param(i.authorization_url, "prompt", v, sizeof(v)), -1);
	ot_auth_free(x);
}

static void test_code_state_checked(void **state)
{
	ot_err err = {{0}};
	ot_auth *x = start("web", OT_FLOW_CODE, &err);
	ot_auth_info i;
	int port;

	(void)state;
	assert_non_null(x);
	port = redirect_port(x);
	/* another path: 404, still waiting */
	assert_int_equal(request(x, "/favicon.ico", NOW), 404);
	assert_int_equal(ot_auth_step(x, NOW), OT_AUTH_WAITING);
	assert_int_equal(request(x, "/callbackx?code=1", NOW), 404);
	/* a forged state: 400, failed, the listener closed */
	assert_int_equal(request(x, "/callback?code=abc&state=forged", NOW), 400);
	assert_int_equal(ot_auth_step(x, NOW), OT_AUTH_FAILED);
	ot_auth_get_info(x, &i);
	assert_string_equal(i.error_code, "state_mismatch");
	assert_non_null(strstr(i.message, "state does not match"));
	assert_int_equal(connect_to(port), -1);
	assert_int_equal(ot_auth_fd(x), -1);
	assert_int_equal(ot_auth_timeout_ms(x, NOW), -1);
	ot_auth_free(x);
}

static void test_code_errors(void **state)
{
	ot_err err = {{0}};
	ot_auth *x = start("web", OT_FLOW_CODE, &err);
	ot_auth_info i;
	char target[512], st[128];

	(void)state;
	ot_auth_get_info(x, &i);
	assert_int_equal(url_param(i.authorization_url, "state", st, sizeof(st)), 0);
	snprintf(target, sizeof(target),
	         "/callback?error=access_denied&error_description=The+user%%20said%%0Ano&state=%s",
	         st);
	assert_int_equal(request(x, target, NOW), 200);
	ot_auth_get_info(x, &i);
	assert_int_equal(i.state, OT_AUTH_DENIED);
	assert_string_equal(i.error_code, "access_denied");
	/* decoded, control characters neutralised */
	assert_non_null(strstr(i.message, "access_denied: The user said?no"));
	ot_auth_free(x);

	/* RFC 9207: a redirect naming another issuer is refused */
	x = start("web", OT_FLOW_CODE, &err);
	ot_auth_get_info(x, &i);
	assert_int_equal(url_param(i.authorization_url, "state", st, sizeof(st)), 0);
	snprintf(target, sizeof(target), "/callback?code=abc&state=%s&iss=https%%3A%%2F%%2Fevil",
	         st);
	assert_int_equal(request(x, target, NOW), 400);
	ot_auth_get_info(x, &i);
	assert_int_equal(i.state, OT_AUTH_FAILED);
	assert_string_equal(i.error_code, "issuer_mismatch");
	ot_auth_free(x);

	/* no code, no error */
	x = start("web", OT_FLOW_CODE, &err);
	ot_auth_get_info(x, &i);
	assert_int_equal(url_param(i.authorization_url, "state", st, sizeof(st)), 0);
	snprintf(target, sizeof(target), "/callback?state=%s", st);
	assert_int_equal(request(x, target, NOW), 400);
	assert_int_equal(ot_auth_step(x, NOW), OT_AUTH_FAILED);
	ot_auth_free(x);
}

static void test_code_pieces_and_exchange(void **state)
{
	ot_err err = {{0}};
	ot_auth *x = start("web", OT_FLOW_CODE, &err);
	ot_auth_info i;
	char st[128], req[512];
	int fd, status;
	size_t half;

	(void)state;
	ot_auth_get_info(x, &i);
	assert_int_equal(url_param(i.authorization_url, "state", st, sizeof(st)), 0);
	fd = connect_to(redirect_port(x));
	snprintf(req, sizeof(req),
	         "GET /callback?code=c0de&state=%s&iss=https%%3A%%2F%%2Fidp.example "
	         "HTTP/1.1\r\nHost: x\r\n\r\n",
	         st);
	half = strlen(req) / 2;
	assert_int_equal(send(fd, req, half, 0), (ssize_t)half);
	assert_int_equal(ot_auth_step(x, NOW), OT_AUTH_WAITING);
	assert_int_equal(send(fd, req + half, strlen(req) - half, 0),
	                 (ssize_t)(strlen(req) - half));
	status = answer_status(x, fd, NOW);
	close(fd);
	assert_int_equal(status, 200);
	/* the exchange goes to 127.0.0.1:1, which refuses: a failed exchange */
	for (int n = 0; n < 500 && !ot_auth_final(ot_auth_step(x, NOW)); n++)
		ot_auth_wait(x, NULL, 0, 10);
	ot_auth_get_info(x, &i);
	assert_int_equal(i.state, OT_AUTH_FAILED);
	assert_non_null(strstr(i.message, "code exchange failed"));
	assert_int_equal(ot_auth_store(x, NULL, NULL, "t", NOW, &err), -1);
	ot_auth_free(x);
}

static void test_code_deadline(void **state)
{
	ot_err err = {{0}};
	ot_auth *x = start("web", OT_FLOW_CODE, &err);
	ot_auth_info i;
	int port = redirect_port(x);

	(void)state;
	assert_int_equal(ot_auth_step(x, NOW + 29), OT_AUTH_WAITING);
	assert_int_equal(ot_auth_step(x, NOW + 30), OT_AUTH_EXPIRED);
	ot_auth_get_info(x, &i);
	assert_non_null(strstr(i.message, "no redirect came within 30 s"));
	assert_non_null(strstr(i.message, "oauthtop authorize web"));
	assert_int_equal(connect_to(port), -1);
	ot_auth_free(x);
}

static void test_refused_starts(void **state)
{
	ot_err err = {{0}};

	(void)state;
	assert_null(start("cc", OT_FLOW_AUTO, &err));
	assert_non_null(strstr(err.msg, "client_credentials"));
	assert_null(start("bare", OT_FLOW_AUTO, &err));
	assert_non_null(strstr(err.msg, "neither device_authorization_url nor authorization_url"));
	assert_null(start("dev", OT_FLOW_CODE, &err));
	assert_non_null(strstr(err.msg, "no authorization_url"));
	assert_null(start("web", OT_FLOW_DEVICE, &err));
	assert_non_null(strstr(err.msg, "no device_authorization_url"));
}

static void test_device_server_down(void **state)
{
	ot_err err = {{0}};
	ot_auth *x = start("dev", OT_FLOW_AUTO, &err);
	ot_auth_info i;

	(void)state;
	assert_non_null(x);
	ot_auth_get_info(x, &i);
	assert_int_equal(i.flow, OT_FLOW_DEVICE);
	assert_int_equal(i.state, OT_AUTH_STARTING);
	assert_string_equal(i.scope, "offline_access");
	for (int n = 0; n < 500 && !ot_auth_final(ot_auth_step(x, NOW)); n++)
		ot_auth_wait(x, NULL, 0, 10);
	ot_auth_get_info(x, &i);
	assert_int_equal(i.state, OT_AUTH_FAILED);
	assert_non_null(strstr(i.message, "device authorization failed"));
	assert_string_equal(ot_auth_state_name(i.state), "failed");
	ot_auth_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_code_url),
	        cmocka_unit_test(test_code_state_checked),
	        cmocka_unit_test(test_code_errors),
	        cmocka_unit_test(test_code_pieces_and_exchange),
	        cmocka_unit_test(test_code_deadline),
	        cmocka_unit_test(test_refused_starts),
	        cmocka_unit_test(test_device_server_down),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
