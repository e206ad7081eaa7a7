/*
 * listing_xml.h
 *	  Kernel, private to listing.c: the small XML parser the listings are
 *	  read with (see listing.h for what it accepts and refuses).
 */
#ifndef MLOPS_LISTING_XML_H
#define MLOPS_LISTING_XML_H

#include <stdbool.h>
#include <stddef.h>

typedef struct xnode
{
	char	   *name;			/* local name */
	char	   *text;			/* the character data directly inside, concatenated */
	size_t		textlen;
	struct xnode *child;		/* first child */
	struct xnode *last;			/* last child */
	struct xnode *next;			/* next sibling */
	struct xnode *parent;
} xnode;

/*
 * xml_parse parses [xml, xml + len) into a tree of elements; NULL with
 * "malformed listing: <why> at byte N" in err.  Free it with xml_free.
 */
extern xnode *xml_parse(const char *xml, size_t len, char *err, size_t errlen);
extern void xml_free(xnode *tree);

#endif							/* MLOPS_LISTING_XML_H */
