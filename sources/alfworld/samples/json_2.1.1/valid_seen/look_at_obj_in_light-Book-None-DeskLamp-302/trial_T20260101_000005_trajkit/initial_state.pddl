(define (problem trajkit_302_look_at_obj_in_light)
    (:domain alfred)
    (:objects
        agent1 - agent
        locCenter - location
        loc1 - location
        loc2 - location
        loc3 - location
        loc4 - location
        BedType - rtype
        DeskType - rtype
        FridgeType - rtype
        MicrowaveType - rtype
        ShelfType - rtype
        SideTableType - rtype
        SinkBasinType - rtype
        AlarmClockType - otype
        BookType - otype
        ButterKnifeType - otype
        DeskLampType - otype
        KnifeType - otype
        PenType - otype
        Bed_bar_00 - receptacle
        Desk_bar_00 - receptacle
        Shelf_bar_00 - receptacle
        SideTable_bar_00 - receptacle
        Book_bar_00 - object
        DeskLamp_bar_00 - object
        Pen_bar_00 - object
        AlarmClock_bar_00 - object
    )
    (:init
        (atLocation agent1 locCenter)
        (receptacleType Bed_bar_00 BedType)
        (receptacleAtLocation Bed_bar_00 loc1)
        (canContain BedType BookType)
        (receptacleType Desk_bar_00 DeskType)
        (receptacleAtLocation Desk_bar_00 loc2)
        (canContain DeskType AlarmClockType)
        (canContain DeskType BookType)
        (canContain DeskType PenType)
        (receptacleType Shelf_bar_00 ShelfType)
        (receptacleAtLocation Shelf_bar_00 loc3)
        (canContain ShelfType AlarmClockType)
        (canContain ShelfType BookType)
        (canContain ShelfType PenType)
        (receptacleType SideTable_bar_00 SideTableType)
        (receptacleAtLocation SideTable_bar_00 loc4)
        (canContain SideTableType AlarmClockType)
        (canContain SideTableType BookType)
        (canContain SideTableType ButterKnifeType)
        (canContain SideTableType KnifeType)
        (canContain SideTableType PenType)
        (objectType Book_bar_00 BookType)
        (inReceptacle Book_bar_00 Bed_bar_00)
        (objectAtLocation Book_bar_00 loc1)
        (pickupable Book_bar_00)
        (objectType DeskLamp_bar_00 DeskLampType)
        (inReceptacle DeskLamp_bar_00 SideTable_bar_00)
        (objectAtLocation DeskLamp_bar_00 loc4)
        (toggleable DeskLamp_bar_00)
        (objectType Pen_bar_00 PenType)
        (inReceptacle Pen_bar_00 Desk_bar_00)
        (objectAtLocation Pen_bar_00 loc2)
        (pickupable Pen_bar_00)
        (objectType AlarmClock_bar_00 AlarmClockType)
        (inReceptacle AlarmClock_bar_00 Shelf_bar_00)
        (objectAtLocation AlarmClock_bar_00 loc3)
        (pickupable AlarmClock_bar_00)
    )
        (:goal
             (and
                 (exists (?ot - object
                          ?r - receptacle
                          ?a - agent
                          ?l - location)
                     (and
                         (objectType ?ot DeskLampType)
                         (toggleable ?ot)
                         (isToggled ?ot)
                         (receptacleAtLocation ?r ?l)
                         (atLocation ?a ?l)
                         (inReceptacle ?ot ?r)
                     )
                 )
                 (exists (?o - object
                          ?a - agent)
                     (and
                         (objectType ?o BookType)
                         (holds ?a ?o)
                     )
                 )
             )
        )
    )
    
