(define (problem trajkit_301_pick_and_place_simple)
    (:domain alfred)
    (:objects
        agent1 - agent
        locCenter - location
        loc1 - location
        loc2 - location
        loc3 - location
        loc4 - location
        loc5 - location
        loc6 - location
        BedType - rtype
        DeskType - rtype
        DrawerType - rtype
        FridgeType - rtype
        GarbageCanType - rtype
        MicrowaveType - rtype
        ShelfType - rtype
        SinkBasinType - rtype
        BookType - otype
        ButterKnifeType - otype
        CellPhoneType - otype
        KnifeType - otype
        MugType - otype
        PenType - otype
        PencilType - otype
        Bed_bar_00 - receptacle
        Desk_bar_00 - receptacle
        Drawer_bar_00 - receptacle
        GarbageCan_bar_00 - receptacle
        Shelf_bar_01 - receptacle
        Shelf_bar_00 - receptacle
        Mug_bar_00 - object
        Pen_bar_00 - object
        Book_bar_00 - object
        CellPhone_bar_00 - object
        Pencil_bar_00 - object
    )
    (:init
        (atLocation agent1 locCenter)
        (receptacleType Bed_bar_00 BedType)
        (receptacleAtLocation Bed_bar_00 loc1)
        (canContain BedType BookType)
        (canContain BedType CellPhoneType)
        (receptacleType Desk_bar_00 DeskType)
        (receptacleAtLocation Desk_bar_00 loc2)
        (canContain DeskType BookType)
        (canContain DeskType CellPhoneType)
        (canContain DeskType MugType)
        (canContain DeskType PenType)
        (canContain DeskType PencilType)
        (receptacleType Drawer_bar_00 DrawerType)
        (receptacleAtLocation Drawer_bar_00 loc3)
        (openable Drawer_bar_00)
        (canContain DrawerType BookType)
        (canContain DrawerType ButterKnifeType)
        (canContain DrawerType CellPhoneType)
        (canContain DrawerType KnifeType)
        (canContain DrawerType PenType)
        (canContain DrawerType PencilType)
        (receptacleType GarbageCan_bar_00 GarbageCanType)
        (receptacleAtLocation GarbageCan_bar_00 loc4)
        (canContain GarbageCanType PenType)
        (canContain GarbageCanType PencilType)
        (receptacleType Shelf_bar_01 ShelfType)
        (receptacleAtLocation Shelf_bar_01 loc5)
        (canContain ShelfType BookType)
        (canContain ShelfType CellPhoneType)
        (canContain ShelfType MugType)
        (canContain ShelfType PenType)
        (canContain ShelfType PencilType)
        (receptacleType Shelf_bar_00 ShelfType)
        (receptacleAtLocation Shelf_bar_00 loc6)
        (objectType Mug_bar_00 MugType)
        (inReceptacle Mug_bar_00 Shelf_bar_00)
        (objectAtLocation Mug_bar_00 loc6)
        (heatable Mug_bar_00)
        (coolable Mug_bar_00)
        (cleanable Mug_bar_00)
        (pickupable Mug_bar_00)
        (objectType Pen_bar_00 PenType)
        (inReceptacle Pen_bar_00 Desk_bar_00)
        (objectAtLocation Pen_bar_00 loc2)
        (pickupable Pen_bar_00)
        (objectType Book_bar_00 BookType)
        (inReceptacle Book_bar_00 Bed_bar_00)
        (objectAtLocation Book_bar_00 loc1)
        (pickupable Book_bar_00)
        (objectType CellPhone_bar_00 CellPhoneType)
        (inReceptacle CellPhone_bar_00 Drawer_bar_00)
        (objectAtLocation CellPhone_bar_00 loc3)
        (pickupable CellPhone_bar_00)
        (objectType Pencil_bar_00 PencilType)
        (inReceptacle Pencil_bar_00 Shelf_bar_01)
        (objectAtLocation Pencil_bar_00 loc5)
        (pickupable Pencil_bar_00)
    )
        (:goal
            (and
                (exists (?r - receptacle)
                    (exists (?o - object)
                        (and
                            (inReceptacle ?o ?r)
                            (objectType ?o MugType)
                            (receptacleType ?r DeskType)
                        )
                    )
                )
            )
        )
    )
    
