with

source as (

    select * from {{ source('person', 'countryregion') }}

),

renamed as (

    select
        cast(countryregioncode as {{ dbt.type_string() }}) as country_code,
        cast(name as {{ dbt.type_string() }}) as country_name,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
