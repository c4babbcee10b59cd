/* main.c - placeholder until the command dispatcher lands. */
#include <stdio.h>

int main(void)
{
	puts("oauthtop " OT_VERSION);
	return 0;
}
