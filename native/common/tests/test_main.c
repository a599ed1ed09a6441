/* Runs every native/common unit test; exit status 1 when any check failed. */
#include "vv_test.h"

void test_json(vv_test_state *ts);
void test_lines(vv_test_state *ts);
void test_proto(vv_test_state *ts);
void test_spec(vv_test_state *ts);
void test_spec_devices(vv_test_state *ts);

int main(void) {
    vv_test_state ts = {0, 0};
    test_json(&ts);
    test_lines(&ts);
    test_proto(&ts);
    test_spec(&ts);
    test_spec_devices(&ts);
    printf("native/common: %d checks, %d failed\n", ts.checks, ts.failures);
    return ts.failures ? 1 : 0;
}
