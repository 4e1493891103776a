/* CSV reader: columns by name in any order, and every malformed case rejected
 * with a message naming file, line and column. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <chempysbi/csv.h>
#include "testutil.h"

static const char *names[3] = {"a", "b", "c"};

/* Reads text as a CSV and returns the error code; errbuf holds the message. */
static PetscErrorCode try_read(const char *text, PetscBool allow_missing, CsvTable *t)
{
  write_file("/tmp/cs_test.csv", text);
  errbuf[0] = 0;
  PetscPushErrorHandler(capture, NULL);
  PetscErrorCode e = csv_read("/tmp/cs_test.csv", 3, names, NULL, allow_missing, "id", t);
  PetscPopErrorHandler();
  return e;
}

static void test_shuffled_columns(void **state)
{
  CsvTable t;
  assert_int_equal(try_read("c, extra ,a,b,id\n3,9,1,2,s1\n\n6,9,4,5e-1,s2\n", PETSC_FALSE, &t), 0);
  assert_int_equal(t.nrows, 2);
  double want[6] = {1, 2, 3, 4, 0.5, 6};
  for (int i = 0; i < 6; i++) assert_true(t.data[i] == want[i]);
  assert_string_equal(t.ids[1], "s2");
  csv_table_destroy(&t);
}

static void expect_error(const char *text, const char *needle)
{
  CsvTable t;
  assert_int_not_equal(try_read(text, PETSC_FALSE, &t), 0);
  if (!strstr(errbuf, needle)) fail_msg("message '%s' lacks '%s'", errbuf, needle);
  assert_non_null(strstr(errbuf, "/tmp/cs_test.csv"));
}

static void test_missing_column(void **state) { expect_error("a,b\n1,2\n", "required column 'c' is missing"); }
static void test_non_numeric(void **state)
{
  expect_error("a,b,c\n1,2,3\n4,x5,6\n", "line 3, column 'b': 'x5' is not a number");
}
static void test_ragged(void **state) { expect_error("a,b,c\n1,2,3\n4,5\n", "line 3: 2 fields, but the header has 3"); }
static void test_empty(void **state) { expect_error("", "file is empty"); }
static void test_duplicate_column(void **state) { expect_error("a,b,c,b\n1,2,3,4\n", "column 'b' appears twice"); }
static void test_header_only(void **state) { expect_error("a,b,c\n", "no data rows"); }
static void test_missing_value_strict(void **state)
{
  expect_error("a,b,c\n1,,3\n", "line 2, column 'b': value is missing");
}

/* A spreadsheet export starts with a UTF-8 byte-order mark: not part of the first column's name. */
static void test_bom(void **state)
{
  CsvTable t;
  assert_int_equal(try_read("\xEF\xBB\xBF"
                            "a,b,c\n1,2,3\n",
                            PETSC_FALSE, &t),
                   0);
  assert_true(t.data[0] == 1 && t.data[2] == 3);
  csv_table_destroy(&t);
}

static void test_directory(void **state)
{
  CsvTable t;
  errbuf[0] = 0;
  PetscPushErrorHandler(capture, NULL);
  PetscErrorCode e = csv_read("/tmp", 3, names, NULL, PETSC_FALSE, NULL, &t);
  PetscPopErrorHandler();
  assert_int_not_equal(e, 0);
  if (!strstr(errbuf, "/tmp is a directory")) fail_msg("message '%s' does not say it is a directory", errbuf);
}

static void test_missing_value_allowed(void **state)
{
  CsvTable t;
  assert_int_equal(try_read("a,b,c\n1,,nan\n", PETSC_TRUE, &t), 0);
  assert_true(t.data[0] == 1 && isnan(t.data[1]) && isnan(t.data[2]));
  csv_table_destroy(&t);
}

static void test_roundtrip(void **state)
{
  double d[6] = {1.0 / 3.0, -2e-300, NAN, 4, 5.5, 1e10};
  CsvTable t;
  assert_int_equal(csv_write("/tmp/cs_test_w.csv", 3, names, 2, d), 0);
  assert_int_equal(csv_read("/tmp/cs_test_w.csv", 3, names, NULL, PETSC_TRUE, NULL, &t), 0);
  for (int i = 0; i < 6; i++) assert_true(d[i] == t.data[i] || (isnan(d[i]) && isnan(t.data[i])));
  csv_table_destroy(&t);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shuffled_columns),
      cmocka_unit_test(test_bom),
      cmocka_unit_test(test_directory),
      cmocka_unit_test(test_missing_column),
      cmocka_unit_test(test_non_numeric),
      cmocka_unit_test(test_ragged),
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_header_only),
      cmocka_unit_test(test_duplicate_column),
      cmocka_unit_test(test_missing_value_strict),
      cmocka_unit_test(test_missing_value_allowed),
      cmocka_unit_test(test_roundtrip),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return r;
}
